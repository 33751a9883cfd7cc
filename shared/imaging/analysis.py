"""One image's analysis: technical quality always, an embedding when an encoder is configured.

Used by the seed API (shared.pipelines.image) and the worker (shared.imaging.cases). Nothing
here changes a case's acuity.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import TYPE_CHECKING, Any

from shared import __version__
from shared.imaging.quality import assess_quality, normalize_image_type
from shared.imaging.schema import (
    NO_ENCODER,
    EmbeddingRef,
    ImageAnalysisOutput,
    ImageObservation,
)
from shared.imaging.view import NOT_CONFIGURED as VIEW_NOT_CONFIGURED
from shared.imaging.view import applies as view_applies
from shared.imaging.view import view_observation
from shared.inference.backend import ModelLoadError
from shared.schemas import ModelInfo

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from shared.imaging.encoder import Encoder
    from shared.imaging.view import ViewModel

log = logging.getLogger(__name__)

QUALITY_ENGINE = ModelInfo(name="deterministic-image-quality", version=__version__)
CONFIDENCE = {"usable": 0.9, "degraded": 0.6, "unusable": 0.2}
DICOM_FACTS = (
    ("Modality", "modality"), ("ViewPosition", "view"), ("BodyPartExamined", "body part"),
    ("ImageLaterality", "laterality"), ("Laterality", "laterality"),
    ("PhotometricInterpretation", "photometric interpretation"),
)  # fmt: skip


@functools.cache
def _cached_encoder(name: str, folder: str, models_dir: str, threads: int, device: str) -> Any:
    from shared.imaging.encoder import load_encoder

    try:
        return load_encoder(name, folder, models_dir, threads, device)
    except ModelLoadError as exc:
        return exc  # remembered, so a broken folder is not re-read for every image


def get_image_encoder(settings: Any) -> tuple[Encoder | None, str]:
    """The configured encoder, loaded once per process, or None with the reason."""
    if not settings.image_encoder:
        return None, NO_ENCODER
    loaded = _cached_encoder(
        settings.image_encoder,
        settings.image_model_path,
        settings.models_dir,
        settings.model_threads,
        settings.device,
    )
    if isinstance(loaded, ModelLoadError):
        return None, f"image encoder {settings.image_encoder} not loaded: {loaded}"
    return loaded, f"image encoder {settings.image_encoder}"


def analyze_pixels(
    display: NDArray[Any],
    *,
    kind: str,
    image_type: str,
    bits_stored: int,
    distinct_levels: int,
    tags: dict[str, Any],
    notes: list[str],
    encoder: Encoder | None,
    encoder_note: str = NO_ENCODER,
    image_id: str | None = None,
    view_model: ViewModel | None = None,
    view_note: str = "",
) -> tuple[ImageAnalysisOutput, NDArray[Any] | None]:
    """Quality, observations, (with an encoder) the embedding of one decoded image and (with
    the view classifier, for a chest radiograph) its frontal/lateral check."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    image_type = normalize_image_type(image_type)
    report = assess_quality(
        display,
        image_type=image_type,
        bits_stored=bits_stored,
        distinct_levels=distinct_levels,
        tags=tags,
        kind=kind,
    )
    timings["quality"] = round((time.perf_counter() - started) * 1000, 3)
    observations = [ImageObservation(text=n, source="dicom" if kind == "dicom" else "quality")
                    for n in notes]  # fmt: skip
    facts = [f"{label} {tags[key]}" for key, label in DICOM_FACTS if tags.get(key)]
    if facts:
        observations.append(ImageObservation(text="DICOM: " + ", ".join(facts), source="dicom"))
    observations += [ImageObservation(text=r.message, source="quality") for r in report.reasons]
    models = [QUALITY_ENGINE]
    engines = ["technical quality"]
    vector = None
    embedding = None
    if encoder is None:
        engines.append(encoder_note)
    else:
        from PIL import Image

        started = time.perf_counter()
        vector = encoder.embed(Image.fromarray(display))
        timings["embedding"] = round((time.perf_counter() - started) * 1000, 3)
        embedding = EmbeddingRef(model=encoder.key, dim=int(vector.shape[0]), image_id=image_id)
        models.append(encoder.info)
        engines.append(f"embedding: {encoder.profile.name} ({encoder.profile.notice})")
    if view_applies(image_type, tags):
        if view_model is None:
            engines.append(view_note or VIEW_NOT_CONFIGURED)
        else:
            started = time.perf_counter()
            observations.append(view_observation(view_model, display, tags))
            timings["view"] = round((time.perf_counter() - started) * 1000, 3)
            models.append(view_model.info)
            engines.append(view_note)
    output = ImageAnalysisOutput(
        image_type=image_type,
        kind=kind,
        quality_verdict=report.verdict,
        quality=report,
        observations=observations,
        embedding=embedding,
        confidence=CONFIDENCE[report.verdict],
        models=models,
        engines=engines,
        timings_ms=timings,
    )
    return output, vector
