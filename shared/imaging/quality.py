"""Technical image quality, no model: measures and a verdict a radiographer would recognise.

Quality flags inform the reader; they never block findings and never change the acuity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

if TYPE_CHECKING:
    from numpy.typing import NDArray

Verdict = Literal["usable", "degraded", "unusable"]
Severity = Literal["note", "degraded", "unusable"]
SEVERITY_ORDER: dict[str, int] = {"note": 0, "degraded": 1, "unusable": 2}

IMAGE_TYPES = {
    "xray": "X-ray",
    "ct": "CT slice",
    "photo": "clinical photo (wound, skin, eye)",
    "ecg": "ECG printout",
    "other": "other image",
}
ALIASES = {
    "chest_xray": "xray", "chest-xray": "xray", "cxr": "xray", "x-ray": "xray",
    "radiograph": "xray", "wound": "photo", "wound_photo": "photo", "skin": "photo",
    "skin_photo": "photo", "dermatology": "photo", "ecg_printout": "ecg", "ekg": "ecg",
}  # fmt: skip
RADIOGRAPHIC = ("xray", "ct")

# Thresholds (measured on the suite's generated images; see tests/unit/imaging).
MIN_SIDE_UNUSABLE, MIN_SIDE_DEGRADED = 128, 512
LEVELS_UNUSABLE, LEVELS_DEGRADED = 16, 64
CLIPPED_DEGRADED, CLIPPED_UNUSABLE = 0.35, 0.70
CONTRAST_UNUSABLE, CONTRAST_DEGRADED = 0.02, 0.06
SHARPNESS_UNUSABLE, SHARPNESS_DEGRADED = 2.5, 15.0
ASPECT_DEGRADED = 2.5
ANALYSIS_SIDE = 512  # sharpness is measured at this short side, so it does not scale with size


class QualityReason(BaseModel):
    code: str
    severity: Severity
    message: str


class QualityReport(BaseModel):
    verdict: Verdict
    reasons: list[QualityReason]
    metrics: dict[str, float | int | str | bool]
    technical: dict[str, Any]  # DICOM technical tags, as read (no identifying tags)


def normalize_image_type(value: str | None) -> str:
    key = (value or "other").strip().lower().replace(" ", "_")
    key = ALIASES.get(key, key)
    return key if key in IMAGE_TYPES else "other"


def _grey(display: NDArray[Any]) -> NDArray[Any]:
    import numpy as np

    values = display.astype(np.float32) / 255.0
    return values if values.ndim == 2 else values.mean(axis=2)


def sharpness(grey: NDArray[Any]) -> float:
    """Variance of the Laplacian (0-255 scale) at a fixed short side."""
    import numpy as np
    from PIL import Image

    height, width = grey.shape
    if min(height, width) > ANALYSIS_SIDE:
        scale = ANALYSIS_SIDE / min(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = Image.fromarray(np.asarray(grey * 255.0, dtype=np.float32), mode="F")
        grey = np.asarray(small.resize(size, Image.Resampling.BOX), dtype=np.float32) / 255.0
    g = grey * 255.0
    if min(g.shape) < 3:
        return 0.0
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var())


def assess_quality(
    display: NDArray[Any],
    *,
    image_type: str = "other",
    bits_stored: int = 8,
    distinct_levels: int = 256,
    tags: dict[str, Any] | None = None,
    kind: str = "png",
) -> QualityReport:
    """Measure one image and give a verdict with reasons."""
    tags = tags or {}
    image_type = normalize_image_type(image_type)
    grey = _grey(display)
    height, width = grey.shape
    metrics: dict[str, float | int | str | bool] = {
        "width": width,
        "height": height,
        "bits_stored": bits_stored,
        "distinct_levels": distinct_levels,
        "dark_fraction": round(float((grey <= 5 / 255).mean()), 4),
        "bright_fraction": round(float((grey >= 250 / 255).mean()), 4),
        "contrast": round(float(grey.std()), 4),
        "mean": round(float(grey.mean()), 4),
        "sharpness": round(sharpness(grey), 2),
        "aspect": round(max(width, height) / max(1, min(width, height)), 3),
        "colour": display.ndim == 3,
        "image_type": image_type,
    }
    reasons = list(_reasons(metrics, image_type, tags, kind))
    worst = max((SEVERITY_ORDER[r.severity] for r in reasons), default=0)
    verdict: Verdict = ("usable", "degraded", "unusable")[worst]  # type: ignore[assignment]
    technical = {k: tags[k] for k in tags if k not in ("Rows", "Columns")}
    return QualityReport(verdict=verdict, reasons=reasons, metrics=metrics, technical=technical)


def _reasons(m: dict[str, Any], image_type: str, tags: dict[str, Any], kind: str) -> Any:
    def reason(code: str, severity: Severity, message: str) -> QualityReason:
        return QualityReason(code=code, severity=severity, message=message)

    side = min(m["width"], m["height"])
    size = f"{m['width']} x {m['height']} pixels"
    if side < MIN_SIDE_UNUSABLE:
        yield reason("resolution", "unusable", f"resolution too low to read ({size})")
    elif side < MIN_SIDE_DEGRADED and image_type in RADIOGRAPHIC:
        yield reason("resolution", "degraded", f"low resolution for a radiograph ({size})")
    levels = m["distinct_levels"]
    if levels < LEVELS_UNUSABLE:
        yield reason("dynamic_range", "unusable", f"only {levels} grey levels: blank or posterised")
    elif levels < LEVELS_DEGRADED:
        yield reason("dynamic_range", "degraded", f"narrow dynamic range ({levels} grey levels)")
    for key, word, what in (
        ("dark_fraction", "under-exposed", "black"),
        ("bright_fraction", "over-exposed", "burnt out to white"),
    ):
        share = m[key]
        if share > CLIPPED_DEGRADED:
            severity: Severity = "unusable" if share > CLIPPED_UNUSABLE else "degraded"
            yield reason(word.replace("-", "_"), severity, f"{word}: {share:.0%} of it is {what}")
    if m["contrast"] < CONTRAST_UNUSABLE:
        yield reason("contrast", "unusable", "almost no contrast: nothing can be distinguished")
    elif m["contrast"] < CONTRAST_DEGRADED:
        yield reason("contrast", "degraded", "low contrast")
    if m["sharpness"] < SHARPNESS_UNUSABLE and m["contrast"] >= CONTRAST_UNUSABLE:
        yield reason("blur", "unusable", "severely blurred (motion or out of focus)")
    elif m["sharpness"] < SHARPNESS_DEGRADED and m["contrast"] >= CONTRAST_UNUSABLE:
        yield reason("blur", "degraded", "blurred: fine detail is lost (motion or focus)")
    if m["aspect"] > ASPECT_DEGRADED:
        yield reason("aspect", "degraded", f"unusual shape ({size}): cropped or a strip?")
    ct_colour = kind == "dicom" and tags.get("Modality") == "CT"
    if m["colour"] and image_type in RADIOGRAPHIC and not ct_colour:
        yield reason(
            "colour",
            "degraded",
            "a radiograph in colour: probably a photograph of a screen or film; "
            "the DICOM export is better",
        )
    if not m["colour"] and image_type == "photo":
        yield reason("colour", "note", "a greyscale photograph: colour is lost")
    if kind == "dicom" and image_type == "xray":
        for tag, what in (("ViewPosition", "view position (PA/AP/lateral)"),
                          ("BodyPartExamined", "body part")):  # fmt: skip
            if not tags.get(tag):
                yield reason(f"missing_{tag}", "note", f"{what} not recorded in the file")
        if not (tags.get("ImageLaterality") or tags.get("Laterality")):
            yield reason("missing_laterality", "note", "laterality not recorded in the file")
