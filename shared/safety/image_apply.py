"""The five safety layers on a multimodal model's output, plus the image rules.

    safe = apply_image_safety(raw, case=case, assessment=assessment, model=ModelInfo(...),
                              images=[ImageFacts(number=1, laterality="R", ...)])

1. Each image observation is framed (layer 1) and checked (shared.safety.image_grounding): a
   measurement the record does not hold, or a side that is not the image's DICOM label,
   withholds its sentence; what the model reads on the image is kept as its interpretation.
2. The text part (summary, findings, next steps, acuity and reason, uncertainties) goes
   through the same layers as a text model's (`apply_safety`: framing, suggestions,
   grounding, validation, confidence, provenance) plus the image rules (a "3.2 cm" or a wrong
   side in the summary is withheld too), grounded against the case's real record only (note,
   structured fields, the deterministic extraction). A statement only the model's own kept
   observations support ("pneumothorax" read on the film, not in the note) is the model's
   interpretation: kept hedged ("The model's own reading of the image, not found in the
   record: ..."), marked so, never grounded; a key finding's evidence must be the record's
   own words, never the model's.
3. The acuity: more urgent than the rules is applied, less urgent is a recorded disagreement.
4. Confidence is capped further by the worst technical quality of the images read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.safety import confidence as layer2
from shared.safety.apply import check_text_part as check_fields
from shared.safety.apply import parse_as
from shared.safety.framing import frame
from shared.safety.image_grounding import check_image_text, check_text_part
from shared.safety.image_schema import (
    CheckedImageObservation,
    ImageFacts,
    ModelImageTextOutput,
    SafeImageTextOutput,
)
from shared.safety.provenance import ai_generated_by, licence_notice
from shared.safety.record import Record
from shared.safety.schema import SAFETY_DISCLAIMER, CheckedClaim
from shared.schemas import Assessment, CaseIn, ModelInfo

# The most a reading can be trusted from an image of this technical quality.
QUALITY_CAP = {"degraded": 0.6, "unusable": 0.2}


def parse_image_text(
    output: ModelImageTextOutput | str | bytes | Mapping[str, Any],
) -> ModelImageTextOutput:
    return parse_as(ModelImageTextOutput, output)


def common_side(images: Sequence[ImageFacts]) -> str | None:
    """The one side every lateral image is labelled (L or R), else None (not checked)."""
    sides = {i.laterality for i in images}
    return next(iter(sides)) if len(sides) == 1 and sides <= {"L", "R"} else None


def apply_image_safety(
    output: ModelImageTextOutput | str | bytes | Mapping[str, Any],
    *,
    case: CaseIn,
    assessment: Assessment,
    model: ModelInfo,
    images: Sequence[ImageFacts],
    fallbacks: Sequence[str] = (),
    repaired: bool = False,
    engine_acuity: int | None = None,
) -> SafeImageTextOutput:
    raw = parse_image_text(output)
    base = Record.of(case, assessment)
    by_number = {f.number: f for f in images}
    claims: list[CheckedClaim] = []
    observations: list[CheckedImageObservation] = []
    for i, item in enumerate(raw.image_observations):
        where = f"image_observations[{i}]"
        facts = by_number.get(item.image)
        if facts is None:
            claims.append(CheckedClaim(
                text=f"image {item.image}", kind="image", grounding="ungrounded", where=where,
                reason=f"{len(images)} image(s) were sent", sentence=item.observation,
            ))  # fmt: skip
            continue
        kept, found = check_image_text(frame(item.observation), base, where, facts.laterality)
        claims.extend(found)
        if kept:
            observations.append(
                CheckedImageObservation(image=item.image, text=kept, image_id=facts.image_id)
            )
    side = common_side(images)
    # The text part is grounded against the real record only. `seen` (the record plus the
    # kept observations) only tells which statements rest on the model's own reading of the
    # image: those are kept hedged as its interpretation, never marked grounded.
    text_claims: list[CheckedClaim] = []
    seen = None
    if observations:
        read = "\n".join(f"Image {o.image}: {o.text}" for o in observations)
        seen = Record.of(case.model_copy(update={"note": f"{case.note}\n{read}"}), assessment)

    def checked(text: str, where: str, advice: bool) -> str:
        kept, found = check_text_part(frame(text), base, seen, where, side, advice)
        text_claims.extend(found)
        return kept

    part = check_fields(
        raw, checked, base, text_claims, assessment=assessment, engine_acuity=engine_acuity,
        fallbacks=fallbacks, repaired=repaired,
    )  # fmt: skip
    confidence, note = part.confidence, part.confidence_note
    agree, disagree = [], []
    for i, text in enumerate(raw.cross_modal_agreements):
        kept, found = check_image_text(frame(text), base, f"cross_modal_agreements[{i}]", side)
        claims.extend(found)
        agree.append(kept)
    for i, text in enumerate(raw.cross_modal_disagreements):
        # A disagreement may well name the other side ("the note says left"): no side rule.
        where = f"cross_modal_disagreements[{i}]"
        kept, found = check_image_text(frame(text), base, where, None)
        claims.extend(found)
        disagree.append(kept)
    image_caution = None
    worst = [
        (QUALITY_CAP[i.quality_verdict], i) for i in images if i.quality_verdict in QUALITY_CAP
    ]
    if worst:
        cap, facts = min(worst, key=lambda pair: pair[0])
        image_caution = (
            f"Image {facts.number} is technically {facts.quality_verdict}: what the model read "
            "on it is less reliable."
        )
        if cap < confidence:
            confidence, note = cap, f"{note}; capped at {cap:.2f}: {image_caution}"
    return SafeImageTextOutput(
        summary=part.summary,
        key_findings=part.key_findings,
        next_steps=part.next_steps,
        suggested_acuity=raw.suggested_acuity,
        acuity_reason=part.acuity_reason,
        engine_acuity=part.engine_acuity,
        applied_acuity=part.applied_acuity,
        disagreement=part.disagreement,
        uncertainties=part.uncertainties,
        confidence=confidence,
        confidence_note=note,
        caution=layer2.caution(confidence),
        claims=[*text_claims, *claims],
        ai_generated_by=ai_generated_by(model),
        licence_notice=licence_notice(model),
        disclaimer=SAFETY_DISCLAIMER,
        image_observations=observations,
        cross_modal_agreements=[a for a in agree if a],
        cross_modal_disagreements=[d for d in disagree if d],
        images=list(images),
        image_caution=image_caution,
    )
