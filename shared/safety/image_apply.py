"""The five safety layers on a multimodal model's output, plus the image rules.

    safe = apply_image_safety(raw, case=case, assessment=assessment, model=ModelInfo(...),
                              images=[ImageFacts(number=1, laterality="R", ...)])

1. Each image observation is framed (layer 1) and checked (shared.safety.image_grounding): a
   measurement the record does not hold, or a side that is not the image's DICOM label,
   withholds its sentence; what the model reads on the image is kept as its interpretation.
2. The text part (summary, findings, next steps, acuity and reason, uncertainties) goes
   through `apply_safety`, the same five layers as a text model's, against the case's record
   plus the kept observations (a summary may repeat what an observation says), then through
   the image rules again (a "3.2 cm" or a wrong side in the summary is withheld too).
3. The acuity: more urgent than the rules is applied, less urgent is a recorded disagreement.
4. Confidence is capped further by the worst technical quality of the images read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from shared.safety import confidence as layer2
from shared.safety.apply import WITHHELD_SUMMARY, OutputRefused, apply_safety
from shared.safety.framing import frame
from shared.safety.image_grounding import check_image_text, rule_claims, withhold
from shared.safety.image_schema import (
    CheckedImageObservation,
    ImageFacts,
    ModelImageTextOutput,
    SafeImageTextOutput,
)
from shared.safety.record import Record
from shared.safety.schema import CheckedClaim, KeyFinding, ModelTriageOutput
from shared.schemas import Assessment, CaseIn, ModelInfo

# The most a reading can be trusted from an image of this technical quality.
QUALITY_CAP = {"degraded": 0.6, "unusable": 0.2}


def parse_image_text(
    output: ModelImageTextOutput | str | bytes | Mapping[str, Any],
) -> ModelImageTextOutput:
    if isinstance(output, ModelImageTextOutput):
        return output
    try:
        if isinstance(output, str | bytes):
            return ModelImageTextOutput.model_validate_json(output)
        return ModelImageTextOutput.model_validate(output)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "output"
        raise OutputRefused(f"invalid model output at {where}: {first.get('msg')}") from error


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
    seen = "\n".join(f"Image {o.image}: {o.text}" for o in observations)
    record = Record.of(case.model_copy(update={"note": f"{case.note}\n{seen}"}), assessment)
    text_part = ModelTriageOutput.model_construct(
        summary=raw.summary, key_findings=raw.key_findings, next_steps=raw.next_steps,
        suggested_acuity=raw.suggested_acuity, acuity_reason=raw.acuity_reason,
        uncertainties=raw.uncertainties,
    )  # fmt: skip
    safe = apply_safety(
        text_part, case=case, assessment=assessment, model=model, fallbacks=fallbacks,
        repaired=repaired, engine_acuity=engine_acuity, record=record,
    )  # fmt: skip
    side = common_side(images)

    def rules(text: str, where: str) -> str:
        found = rule_claims(text, record, side)
        if not any(c.grounding == "ungrounded" for c in found):
            return text
        kept, checked = withhold(text, found, where)
        claims.extend(checked)
        return kept

    findings = [
        KeyFinding(finding=kept, evidence=f.evidence)
        for i, f in enumerate(safe.key_findings)
        if (kept := rules(f.finding, f"key_findings[{i}]"))
    ]
    steps = [rules(s, f"next_steps[{i}]") for i, s in enumerate(safe.next_steps)]
    doubts = [rules(u, f"uncertainties[{i}]") for i, u in enumerate(safe.uncertainties)]
    agree, disagree = [], []
    for i, text in enumerate(raw.cross_modal_agreements):
        kept, found = check_image_text(frame(text), record, f"cross_modal_agreements[{i}]", side)
        claims.extend(found)
        agree.append(kept)
    for i, text in enumerate(raw.cross_modal_disagreements):
        # A disagreement may well name the other side ("the note says left"): no side rule.
        where = f"cross_modal_disagreements[{i}]"
        kept, found = check_image_text(frame(text), record, where, None)
        claims.extend(found)
        disagree.append(kept)
    confidence, note, image_caution = safe.confidence, safe.confidence_note, None
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
        **safe.model_dump(
            exclude={"summary", "key_findings", "next_steps", "uncertainties", "claims",
                     "confidence", "confidence_note", "caution", "acuity_reason"}
        ),
        summary=rules(safe.summary, "summary") or WITHHELD_SUMMARY,
        key_findings=findings,
        next_steps=[s for s in steps if s],
        uncertainties=[u for u in doubts if u],
        acuity_reason=rules(safe.acuity_reason, "acuity_reason"),
        confidence=confidence,
        confidence_note=note,
        caution=layer2.caution(confidence),
        claims=[*safe.claims, *claims],
        image_observations=observations,
        cross_modal_agreements=[a for a in agree if a],
        cross_modal_disagreements=[d for d in disagree if d],
        images=list(images),
        image_caution=image_caution,
    )  # fmt: skip
