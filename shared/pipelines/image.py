"""The seed's image methods: `analyze_image` and `analyze_with_image`.

`analyze_with_image` with no multimodal model configured returns the deterministic text
result and the image's technical analysis side by side, and says so; the acuity is always the
text engine's (an image never makes it less urgent, and quality flags never change it). With
MEDTRIAGE_MULTIMODAL_CHAIN set, the image+text model (shared.pipelines.multimodal) reads the
note and the image into one checked output, and the level may only become more urgent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from shared.config import Settings, get_settings
from shared.imaging.analysis import analyze_pixels, get_image_encoder
from shared.imaging.decode import Decoded, decode
from shared.imaging.errors import ImageLimits
from shared.imaging.schema import ImageAnalysisOutput
from shared.imaging.view import get_view_model
from shared.pipelines.base import SAFETY_DISCLAIMER
from shared.pipelines.text import ASSUMED_ADULT_AGE, ClinicalTextOutput
from shared.pipelines.text import MultimodalPipeline as TextPipeline
from shared.safety.image_schema import SafeImageTextOutput
from shared.schemas import Acuity, ModelInfo, RiskLevel

NOT_INTEGRATED = (
    "no multimodal model configured: the deterministic text result and the image's technical "
    "analysis are shown side by side, not integrated"
)


class MultimodalOutput(BaseModel):
    clinical_summary: str
    integrated_findings: list[str]
    next_steps: list[str]
    cross_modal_agreements: list[str] = []
    cross_modal_disagreements: list[str] = []
    risk_level: RiskLevel
    acuity: Acuity
    confidence: float = Field(ge=0, le=0.95)
    disclaimer: str = SAFETY_DISCLAIMER
    integration: str  # how image and text were combined (or that they were not)
    models: list[ModelInfo]
    text: ClinicalTextOutput
    image: ImageAnalysisOutput
    checked: SafeImageTextOutput | None = None  # the image+text model's checked output


def _as_bytes(image: Any) -> tuple[bytes, str]:
    """A PIL image, a path, or the bytes of a PNG, JPEG or DICOM file."""
    if isinstance(image, bytes | bytearray):
        return bytes(image), ""
    if isinstance(image, str | Path):
        path = Path(image)
        return path.read_bytes(), path.name
    if hasattr(image, "save"):  # a PIL image: re-encoded losslessly
        import io

        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue(), "image.png"
    raise TypeError("image must be a PIL image, a path, or PNG/JPEG/DICOM bytes")


class MultimodalPipeline(TextPipeline):
    """Seed API: text (from the text pipeline), images, and both together."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    def analyze_image(self, image: Any, image_type: str = "other") -> ImageAnalysisOutput:
        """Quality (always) and embedding (with a configured encoder) of one image.
        Raises ImageRejected for a file that is not an image we read."""
        return self._analyze(image, image_type)[1]

    def _analyze(self, image: Any, image_type: str) -> tuple[Decoded, ImageAnalysisOutput]:
        data, name = _as_bytes(image)
        s = self.settings
        limits = ImageLimits(s.image_max_bytes, s.image_max_pixels, s.image_max_count)
        decoded = decode(data, name, "", limits)
        encoder, note = get_image_encoder(s)
        view_model, view_note = get_view_model(s)
        output, _vector = analyze_pixels(
            decoded.display, kind=decoded.kind, image_type=image_type,
            bits_stored=decoded.bits_stored, distinct_levels=decoded.distinct_levels,
            tags=decoded.tags, notes=decoded.notes, encoder=encoder, encoder_note=note,
            view_model=view_model, view_note=view_note,
        )  # fmt: skip
        return decoded, output

    def analyze_with_image(
        self,
        clinical_note: str,
        image: Any,
        image_type: str = "other",
        patient_age: float | None = None,
        integrate_findings: bool = True,
    ) -> MultimodalOutput:
        text = self.analyze_clinical_text(clinical_note, patient_age)
        decoded, picture = self._analyze(image, image_type)
        side_by_side = self.integrate(text, picture, integrate_findings)
        if not integrate_findings:
            return side_by_side
        from shared.pipelines.multimodal import read_with_model

        age = patient_age if patient_age is not None else ASSUMED_ADULT_AGE
        return read_with_model(self.settings, clinical_note, age, decoded, side_by_side)

    def integrate(
        self, text: ClinicalTextOutput, picture: ImageAnalysisOutput, integrate_findings: bool
    ) -> MultimodalOutput:
        """Without a multimodal model: side by side, the text engine's acuity unchanged."""
        findings = list(text.key_findings)
        if integrate_findings:
            verdict = picture.quality_verdict
            findings += [f"image ({verdict}): {o.text}" for o in picture.observations]
        return MultimodalOutput(
            clinical_summary=text.summary,
            integrated_findings=findings,
            next_steps=list(text.recommendations),
            risk_level=text.risk_level,
            acuity=text.assessment.acuity,
            confidence=text.confidence,
            integration=NOT_INTEGRATED,
            models=picture.models,
            text=text,
            image=picture,
        )
