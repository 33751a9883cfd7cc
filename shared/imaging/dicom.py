"""DICOM: pixels and the technical tags we need, never who the patient is.

Only the tags in TECHNICAL_TAGS are ever read out of the file (an allow-list, so the whole
de-identification profile - names, ids, dates, institution, operators, free text - stays
behind). Modality LUT, then the file's window (WindowCenter/Width or VOI LUT, else min-max),
then MONOCHROME1 inverted; multi-frame: the first frame; CT: three windows as RGB.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from shared.imaging.decode import Decoded, distinct_levels
from shared.imaging.errors import ImageLimits, too_large, unreadable

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from pydicom.dataset import Dataset

TECHNICAL_TAGS = (
    "Modality", "ViewPosition", "BodyPartExamined", "ImageLaterality", "Laterality",
    "PatientOrientation", "PhotometricInterpretation", "SamplesPerPixel", "BitsAllocated",
    "BitsStored", "Rows", "Columns", "NumberOfFrames", "PixelSpacing", "ImagerPixelSpacing",
    "SliceThickness", "RescaleSlope", "RescaleIntercept", "RescaleType", "WindowCenter",
    "WindowWidth", "VOILUTFunction",
)  # fmt: skip
# CT as Google's MedGemma DICOM code feeds it: R wide (-1024..1024 HU), G soft tissue
# (W350/L40: -135..215 HU), B brain (0..80 HU).
CT_WINDOWS = ((-1024.0, 1024.0), (-135.0, 215.0), (0.0, 80.0))
MAX_FRAMES = 10_000


def _plain(value: Any) -> Any:
    """A tag value as JSON: numbers, short strings, or lists of them."""
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [_plain(v) for v in list(value)[:4]]
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        text = "".join(c for c in str(value) if c.isprintable())
        return text[:64]
    return int(number) if number.is_integer() else number


def technical_tags(ds: Dataset) -> dict[str, Any]:
    tags = {name: _plain(ds.get(name)) for name in TECHNICAL_TAGS if name in ds}
    tags = {k: v for k, v in tags.items() if v is not None}
    tags["TransferSyntax"] = ds.file_meta.TransferSyntaxUID.name
    return tags


def _read(data: bytes) -> Dataset:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        ds.file_meta.TransferSyntaxUID  # noqa: B018 - a file without it cannot be decoded
        return ds
    except (InvalidDicomError, AttributeError, ValueError, KeyError, EOFError, OSError):
        raise unreadable(
            "The DICOM file is damaged or incomplete and cannot be read. Export it again."
        ) from None


def _check_decodable(ds: Dataset) -> None:
    from pydicom.pixels import get_decoder  # type: ignore[attr-defined]

    syntax = ds.file_meta.TransferSyntaxUID
    if not syntax.is_compressed:
        return
    try:
        available = get_decoder(syntax).is_available
    except NotImplementedError:
        available = False
    if not available:
        raise unreadable(
            f"The DICOM image is compressed as '{syntax.name}' ({syntax}), which this system "
            "cannot decode. Export it uncompressed, as JPEG Lossless or as JPEG 2000."
        )


def decode_dicom(data: bytes, limits: ImageLimits) -> Decoded:
    import numpy as np
    from pydicom.pixels import apply_modality_lut, pixel_array  # type: ignore[attr-defined]

    ds = _read(data)
    if "PixelData" not in ds:
        raise unreadable(
            "The DICOM file holds no image (a report or structured document?). "
            "Attach the image series instead."
        )
    rows, cols = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    frames = int(ds.get("NumberOfFrames") or 1)
    if rows * cols > limits.max_pixels or frames > MAX_FRAMES:
        raise too_large(
            f"The DICOM image is too large ({cols} x {rows}, {frames} frames); at most "
            f"{limits.max_pixels / 1e6:.0f} megapixels are accepted."
        )
    if rows < 1 or cols < 1:
        raise unreadable("The DICOM file has no image size (Rows/Columns). Export it again.")
    _check_decodable(ds)
    try:
        arr = pixel_array(ds, index=0 if frames > 1 else None)
    except (ValueError, RuntimeError, NotImplementedError, KeyError, AttributeError, OSError):
        raise unreadable(
            f"The DICOM image data could not be decoded ({ds.file_meta.TransferSyntaxUID.name}); "
            "the file may be damaged. Export it again."
        ) from None
    tags = technical_tags(ds)
    notes: list[str] = []
    if frames > 1:
        notes.append(f"multi-frame ({frames} frames): the first frame is shown and analysed")
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8)
    if arr.ndim == 3:  # colour (pydicom has already converted YBR to RGB)
        scale = float(2**bits - 1)
        display = np.asarray(np.clip(arr / scale * 255.0, 0, 255), dtype=np.uint8)
        return Decoded("dicom", display, None, bits, distinct_levels(display), tags, notes)
    source = np.asarray(arr)
    raw = np.asarray(apply_modality_lut(source, ds), dtype=np.float32)
    if str(ds.get("Modality", "")) == "CT":
        display = np.stack([_window(raw, lo, hi) for lo, hi in CT_WINDOWS], axis=-1)
        notes.append("CT: shown in three windows as colour (wide, soft tissue, brain)")
    else:
        display = _voi(raw, source, ds, notes)
        if photometric == "MONOCHROME1":
            display = np.asarray(255 - display, dtype=np.uint8)
            notes.append("MONOCHROME1: inverted so that dense tissue is white")
    return Decoded("dicom", display, raw, bits, distinct_levels(source), tags, notes)


def _first(value: Any) -> float:
    return float(value[0] if isinstance(value, list) else value)


def _voi(raw: NDArray[Any], source: NDArray[Any], ds: Dataset, notes: list[str]) -> NDArray[Any]:
    """The file's own window, else its VOI LUT, else min-max; as uint8."""
    import numpy as np
    from pydicom.pixels import apply_voi_lut  # type: ignore[attr-defined]

    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is not None and width is not None:
        c, w = _first(_plain(center)), _first(_plain(width))
        if w > 1:
            return window_center_width(raw, c, w)
    if "VOILUTSequence" in ds:
        lut = np.asarray(apply_voi_lut(source, ds, prefer_lut=True), dtype=np.float32)
        notes.append("shown through the file's VOI LUT")
        return _minmax(lut)
    notes.append("no window in the file: shown from its darkest to its brightest value")
    return _minmax(raw)


def window_center_width(values: NDArray[Any], center: float, width: float) -> NDArray[Any]:
    """DICOM's linear window (PS3.3 C.11.2.1.2.1) to uint8."""
    import numpy as np

    scaled = (values - (center - 0.5)) / max(width - 1.0, 1.0) + 0.5
    return np.asarray(np.clip(np.rint(scaled * 255.0), 0, 255), dtype=np.uint8)


def _window(values: NDArray[Any], lo: float, hi: float) -> NDArray[Any]:
    return window_center_width(values, (lo + hi) / 2 + 0.5, hi - lo + 1)


def _minmax(values: NDArray[Any]) -> NDArray[Any]:
    import numpy as np

    lo, hi = float(values.min()), float(values.max())
    scaled = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
    return np.asarray(np.rint(scaled * 255.0), dtype=np.uint8)
