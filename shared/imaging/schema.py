"""What an image analysis returns: the seed's `ImageAnalysisOutput`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.imaging.quality import QualityReport
from shared.safety.schema import SAFETY_DISCLAIMER
from shared.schemas import ModelInfo

IMAGE_DISCLAIMER = (
    SAFETY_DISCLAIMER + " Image quality flags are technical: they inform the reader and never "
    "change the acuity. Similar earlier cases are context, never a finding."
)
NO_ENCODER = "no image encoder configured: technical quality only"


class ImageObservation(BaseModel):
    text: str
    source: Literal["quality", "dicom", "encoder", "model"]
    ai_generated: bool = False  # True only for a model's words (with `model` set)
    model: str | None = None


class EmbeddingRef(BaseModel):
    """Where the vector is kept (the image row) and which model made it."""

    model: str  # model id @ revision: only embeddings of the same key are compared
    dim: int
    image_id: str | None = None  # the stored image's public id; None for an ad-hoc analysis


class SimilarCase(BaseModel):
    case_id: str
    similarity: float
    acuity: int  # the earlier case's final acuity (context only)
    acuity_label: str
    seen_at: str
    quality_verdict: str | None = None


class ImageAnalysisOutput(BaseModel):
    image_type: str
    kind: str  # png, jpeg, dicom
    quality_verdict: Literal["usable", "degraded", "unusable"]
    quality: QualityReport
    observations: list[ImageObservation]
    embedding: EmbeddingRef | None = None
    similar_cases: list[SimilarCase] = []
    # How far the image supports reading (technical quality), capped like every confidence.
    confidence: float = Field(ge=0, le=0.95)
    disclaimer: str = IMAGE_DISCLAIMER
    models: list[ModelInfo]
    engines: list[str]  # what ran, and what did not with the reason
    timings_ms: dict[str, float] = {}
