"""What a multimodal model (MedGemma 4B) is asked to write about a case with images (the JSON
schema its decoding is constrained to), and what the safety layers hand on after checking it.

The model's object is `ModelImageTextOutput`; `SafeImageTextOutput` is the checked text part
(a `SafeTriageOutput`: the same five layers) plus the checked image observations and the
cross-modal agreements and disagreements.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.safety.schema import KeyFinding, Long, SafeTriageOutput, Short

# Where a result keeps the checked image+text output and its run (TriageResult.details).
IMAGE_TEXT_OUTPUT_KEY = "image_text_output"
IMAGE_TEXT_RUN_KEY = "image_text_run"


class ModelImageObservation(BaseModel):
    """What the model sees on one image (by its number in the prompt, 1 for the first)."""

    model_config = ConfigDict(extra="forbid")

    image: int = Field(ge=1, le=8, description="which image: 1 for the first")
    observation: Short


class ModelImageTextOutput(BaseModel):
    """The JSON object the multimodal model must produce, images first, in this order."""

    model_config = ConfigDict(extra="forbid")

    image_observations: list[ModelImageObservation] = Field(max_length=8)
    summary: Long
    key_findings: list[KeyFinding] = Field(max_length=8)
    cross_modal_agreements: list[Short] = Field(default_factory=list, max_length=4)
    cross_modal_disagreements: list[Short] = Field(default_factory=list, max_length=4)
    next_steps: list[Short] = Field(max_length=6)
    suggested_acuity: int = Field(ge=1, le=5, description="1 resuscitation ... 5 non-urgent")
    acuity_reason: Short
    uncertainties: list[Short] = Field(default_factory=list, max_length=5)


class ImageFacts(BaseModel):
    """What the prompt said about one image, and what its observations are checked against:
    technical facts only (never an identifying tag)."""

    number: int  # 1 for the first image in the prompt
    image_id: str | None = None  # the stored image's public id (None for an ad-hoc image)
    image_type: str = "other"
    kind: str = "png"
    modality: str | None = None
    view: str | None = None
    body_part: str | None = None
    laterality: Literal["L", "R", "B", "U"] | None = None  # DICOM (Image)Laterality
    quality_verdict: str | None = None

    def describe(self) -> str:
        """'Image 1: xray (DICOM), modality DX, view PA, body part CHEST, labelled left.'"""
        parts = [f"Image {self.number}: {self.image_type} ({self.kind.upper()})"]
        for label, value in (("modality", self.modality), ("view", self.view),
                             ("body part", self.body_part)):  # fmt: skip
            if value:
                parts.append(f"{label} {value}")
        side = {"L": "left", "R": "right", "B": "both sides"}.get(self.laterality or "")
        if side:
            parts.append(f"labelled {side}")
        if self.quality_verdict:
            parts.append(f"technical quality {self.quality_verdict}")
        return ", ".join(parts) + "."


class CheckedImageObservation(BaseModel):
    image: int
    text: str  # framed, and only the sentences the checks kept
    image_id: str | None = None


class SafeImageTextOutput(SafeTriageOutput):
    """The checked image+text output: the text part under the five layers, plus the image
    observations, agreements and disagreements under the image checks (claims: all of them)."""

    image_observations: list[CheckedImageObservation]
    cross_modal_agreements: list[str]
    cross_modal_disagreements: list[str]
    images: list[ImageFacts]
    image_caution: str | None = None  # e.g. a degraded image: the reading is less reliable
