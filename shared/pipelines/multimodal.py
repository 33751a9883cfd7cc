"""Image + text: a multimodal model (MEDTRIAGE_MULTIMODAL_CHAIN) reads a case's note, vital
signs, the engine's findings and its images into one assessment, after the text pipeline.

The worker calls `add_image_text` with the text pipeline's result: the images are those the
quality step graded (an unusable one is left out, and so is one past the profile's limit),
as stored (DICOM windowed, CT as three windows in RGB); the output goes through the five
safety layers and the image rules (shared.safety.image_apply) and into the result's details
with the model's metadata; the level may become more urgent, never less. Any failure leaves
the text result standing, with the reason recorded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError
from sqlalchemy import select

from shared.inference.chain import FallbackTaken, LoadedChain
from shared.inference.image_prompt import IMAGE_PROMPT_VERSION, PromptImage
from shared.inference.multimodal import ImageTextRunner, StepCache, load_image_text_chain
from shared.pipelines.model import ModelRun, model_info
from shared.safety.image_schema import (
    IMAGE_TEXT_OUTPUT_KEY,
    IMAGE_TEXT_RUN_KEY,
    ImageFacts,
    SafeImageTextOutput,
)
from shared.schemas import Acuity, Assessment, CaseIn, TriageResult

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from shared.config import Settings
    from shared.db.models import Image
    from shared.pipelines.image import MultimodalOutput

log = logging.getLogger(__name__)


class ImageTextRun(ModelRun):
    """What a result records about its image+text step (details['image_text_run'])."""

    prompt_version: str = IMAGE_PROMPT_VERSION
    images_sent: list[int] = Field(default_factory=list)  # their numbers in the prompt
    images_left_out: list[str] = Field(default_factory=list)  # which, and why


class ImageTextModel:
    """The multimodal model of one process: loaded once (after the fork, in a worker)."""

    def __init__(self, settings: Settings, chain: LoadedChain) -> None:
        self.chain = chain
        self.constrained = settings.model_constrained
        self.runner: ImageTextRunner | None = None
        if chain.backend is not None and chain.model is not None:
            profile = chain.backend.profile
            self.runner = ImageTextRunner(
                chain.backend,
                chain.model,
                profile.max_new_tokens,
                StepCache(settings.model_cache_size),
                constrained=self.constrained,
            )

    @property
    def max_images(self) -> int:
        return (self.chain.backend.profile.max_images or 1) if self.chain.backend else 0

    def new_run(self) -> ImageTextRun:
        run = ImageTextRun(
            fallbacks=list(self.chain.fallbacks),
            constrained=self.constrained,
            load_ms=round(self.chain.load_ms, 3),
            warmup_ms=round(self.chain.warmup_ms, 3),
        )
        m = self.chain.model
        if m is None:
            run.reason = "no image+text model loaded: " + "; ".join(
                f"{f.profile}: {f.reason}" for f in run.fallbacks
            )
            return run
        return run.model_copy(
            update={"profile": m.profile, "backend": m.backend, "model_id": m.model_id,
                    "version": m.version, "revision": m.revision, "dtype": m.dtype,
                    "quantization": m.quantization, "device": m.device,
                    "library_versions": m.library_versions}
        )  # fmt: skip

    def analyze(
        self,
        case: CaseIn,
        assessment: Assessment,
        images: list[PromptImage],
        engine_acuity: Acuity,
        run: ImageTextRun | None = None,
    ) -> tuple[SafeImageTextOutput | None, ImageTextRun]:
        """The checked output (None when the model did not write a usable one) and the run."""
        run = run or self.new_run()
        if self.runner is None or self.chain.model is None:
            return None, run
        if not images:
            run.reason = "no image fit to read: " + "; ".join(run.images_left_out)
            return None, run
        run.images_sent = [i.facts.number for i in images]
        step = self.runner.run(case, assessment, images)
        run.outcome, run.reason, run.cache_hit = step.outcome, step.reason, step.cache_hit
        run.attempts, run.raw_outputs = step.attempts, step.raw
        run.tokens_in, run.tokens_out = step.tokens_in, step.tokens_out
        run.timings_ms.update(step.timings_ms)
        if step.output is None:
            run.fallbacks.append(
                FallbackTaken(stage="generate", profile=run.profile or "", reason=step.reason)
            )
            return None, run
        from shared.safety.image_apply import apply_image_safety

        started = time.perf_counter()
        try:
            safe = apply_image_safety(
                step.output, case=case, assessment=assessment,
                model=model_info(self.chain.model), images=[i.facts for i in images],
                fallbacks=[f"{f.profile}: {f.reason}" for f in run.fallbacks],
                repaired=run.outcome == "repaired", engine_acuity=int(engine_acuity),
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the text result stands, recorded
            run.outcome, run.reason = "deterministic", f"safety layers: {type(exc).__name__}"
            run.fallbacks.append(
                FallbackTaken(stage="safety", profile=run.profile or "", reason=run.reason)
            )
            safe = None
        run.timings_ms["safety"] = round((time.perf_counter() - started) * 1000, 3)
        return safe, run


_models: dict[tuple[Any, ...], ImageTextModel] = {}


def get_image_text_model(
    settings: Settings, reuse: LoadedChain | None = None
) -> ImageTextModel | None:
    """The process's image+text model (None when none is configured), loaded on first use.
    Raises ModelLoadError when the chain loads nothing and does not allow 'deterministic'."""
    if not settings.multimodal_chain:
        return None
    key = (os.getpid(), settings.multimodal_chain, settings.models_dir, settings.model_base_url,
           settings.device, settings.quantization)  # fmt: skip
    if key not in _models:
        _models[key] = ImageTextModel(settings, load_image_text_chain(settings, reuse))
    return _models[key]


def facts_from(
    number: int,
    *,
    image_type: str,
    kind: str,
    tags: dict[str, Any],
    verdict: str | None,
    image_id: str | None = None,
) -> ImageFacts:
    """What the prompt says of one image and its observations are checked against: its
    technical DICOM tags only (modality, view, body part, laterality)."""
    side = str(tags.get("ImageLaterality") or tags.get("Laterality") or "").upper()[:1]
    return ImageFacts(
        number=number, image_id=image_id, image_type=image_type, kind=kind,
        modality=tags.get("Modality"), view=tags.get("ViewPosition"),
        body_part=tags.get("BodyPartExamined"),
        laterality=side if side in ("L", "R", "B", "U") else None,  # type: ignore[arg-type]
        quality_verdict=verdict,
    )  # fmt: skip


def facts_of(number: int, image: Image) -> ImageFacts:
    return facts_from(number, image_type=image.image_type, kind=image.kind,
                      tags=image.tags or {}, verdict=image.quality_verdict,
                      image_id=image.public_id)  # fmt: skip


def as_rgb(pixels: Any) -> Any:
    """A PIL RGB image of stored display pixels (greyscale, RGB, or CT's three windows)."""
    from PIL import Image as PILImage

    return PILImage.fromarray(pixels).convert("RGB")


def case_prompt_images(
    session: Session, settings: Settings, case_id: int, limit: int
) -> tuple[list[PromptImage], list[str]]:
    """The case's images the model may read, in upload order, and those left out, why."""
    from shared.db.models import Image
    from shared.imaging.store import store_for

    store = store_for(settings)
    images: list[PromptImage] = []
    left_out: list[str] = []
    rows = session.scalars(select(Image).where(Image.case_id == case_id).order_by(Image.id))
    for position, image in enumerate(rows, 1):
        if image.quality_verdict == "unusable" or image.quality_verdict is None:
            why = image.quality_verdict or "not analysed"
            left_out.append(f"image {position} ({image.public_id[:8]}): {why}")
        elif len(images) >= limit:
            left_out.append(f"image {position} ({image.public_id[:8]}): over {limit} per prompt")
        else:
            pil = as_rgb(store.load_display(image.sha256))
            images.append(PromptImage(pil, image.sha256, facts_of(len(images) + 1, image)))
    return images, left_out


def add_image_text(
    sessions: sessionmaker[Session],
    settings: Settings,
    case_id: int,
    stored: dict[str, Any],
    result: TriageResult,
) -> TriageResult:
    """The worker's step after the text pipeline; the result unchanged without a model or
    images, and with the reason recorded when the model could not contribute."""
    model = get_image_text_model(settings)
    if model is None:
        return result
    with sessions() as session:
        images, left_out = case_prompt_images(session, settings, case_id, model.max_images)
    if not images and not left_out:
        return result  # a case without images
    run = model.new_run()
    run.images_left_out = left_out
    try:
        case = CaseIn.model_validate(stored)
        safe, run = model.analyze(case, result.assessment, images, result.acuity, run)
    except Exception as exc:
        if type(exc).__name__ == "SoftTimeLimitExceeded":
            raise
        log.error("case %s: image+text step failed: %s", case_id, type(exc).__name__)
        safe, run.outcome, run.reason = None, "deterministic", f"{type(exc).__name__}"
    log.info("case %s: image+text %s (%s images)", case_id, run.outcome, len(images))
    return with_image_text(result, safe, run, model)


def with_image_text(
    result: TriageResult, safe: SafeImageTextOutput | None, run: ImageTextRun, model: Any
) -> TriageResult:
    details = dict(result.details)
    details[IMAGE_TEXT_RUN_KEY] = run.model_dump(mode="json")
    acuity = result.acuity
    if safe is not None:
        details[IMAGE_TEXT_OUTPUT_KEY] = safe.model_dump(mode="json")
        acuity = Acuity.most_urgent(acuity, Acuity(safe.applied_acuity))
    models = list(result.models)
    if model.chain.model is not None:
        info = model_info(model.chain.model)
        if all((m.name, m.revision) != (info.name, info.revision) for m in models):
            models.append(info)
    return result.model_copy(
        update={
            "acuity": acuity,
            "risk_level": acuity.risk_level,
            "models": models,
            "details": details,
            "library_versions": result.library_versions | run.library_versions,
            "timings_ms": result.timings_ms
            | {f"image_text_{k}": v for k, v in run.timings_ms.items()},
        }
    )


def image_text_view(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """A result's checked image+text output for the case page (None when none was written),
    with what was withheld grouped by sentence, and the run's outcome."""
    details = (payload or {}).get("details") or {}
    run = details.get(IMAGE_TEXT_RUN_KEY)
    raw = details.get(IMAGE_TEXT_OUTPUT_KEY)
    if not run:
        return None
    view: dict[str, Any] = {"run": run, "output": None}
    if raw:
        try:
            safe = SafeImageTextOutput.model_validate(raw)
        except ValidationError:
            return view  # never show an output that fails the safety schema
        withheld: dict[tuple[str, str], list[str]] = {}
        for c in safe.claims:
            if c.grounding == "ungrounded":
                reason = f"{c.text} ({c.reason})" if c.reason else c.text
                withheld.setdefault((c.where, c.sentence or c.text), []).append(reason)
        view["output"] = {
            **safe.model_dump(mode="json"),
            "applied_label": Acuity(safe.applied_acuity).label,
            "suggested_label": Acuity(safe.suggested_acuity).label,
            "not_found": [
                {"where": w, "sentence": s, "claims": c} for (w, s), c in withheld.items()
            ],
        }
    return view


def read_with_model(
    settings: Settings, note: str, age: float, decoded: Any, side_by_side: MultimodalOutput
) -> MultimodalOutput:
    """The seed API's integration: the note and the image read by the image+text model and
    checked; the side-by-side output (saying why) when no model is configured or it added
    nothing."""
    model = get_image_text_model(settings)
    if model is None:
        return side_by_side
    text, picture = side_by_side.text, side_by_side.image
    case = CaseIn(age_years=age, chief_complaint="not given", note=note)
    run = model.new_run()
    images = []
    if picture.quality_verdict == "unusable":
        run.images_left_out = ["image 1: unusable"]
    else:
        facts = facts_from(1, image_type=picture.image_type, kind=decoded.kind,
                           tags=decoded.tags, verdict=picture.quality_verdict)  # fmt: skip
        sha = hashlib.sha256(decoded.display.tobytes()).hexdigest()
        images.append(PromptImage(as_rgb(decoded.display), sha, facts))
    safe, run = model.analyze(case, text.assessment, images, text.assessment.acuity, run)
    if safe is None:
        why = f"the image+text model added nothing ({run.reason}); "
        return side_by_side.model_copy(update={"integration": why + side_by_side.integration})
    acuity = Acuity.most_urgent(text.assessment.acuity, Acuity(safe.applied_acuity))
    models = list(picture.models)
    if model.chain.model is not None:
        models.append(model_info(model.chain.model))
    return side_by_side.model_copy(
        update={
            "clinical_summary": safe.summary,
            "integrated_findings": [f.finding for f in safe.key_findings]
            + [f"image {o.image} (AI): {o.text}" for o in safe.image_observations],
            "next_steps": safe.next_steps,
            "cross_modal_agreements": safe.cross_modal_agreements,
            "cross_modal_disagreements": safe.cross_modal_disagreements
            + ([safe.disagreement] if safe.disagreement else []),
            "risk_level": acuity.risk_level,
            "acuity": acuity,
            "confidence": safe.confidence,
            "integration": f"integrated by {safe.ai_generated_by} (AI-generated; "
            f"checked by the safety layers). {safe.licence_notice}",
            "models": models,
            "checked": safe,
        }
    )
