"""The five safety layers on one model output, in order: parse (a refusal when the JSON is
cut off or invalid), language framing, suggestions as suggestions, grounding against the
case's record, clinical validation of the acuity, confidence, and who wrote it.

    safe = apply_safety(raw_json_or_model_output, case=case, assessment=assessment,
                        model=ModelInfo(...), fallbacks=["medgemma-27b: folder missing"],
                        repaired=False)

`case` and `assessment` are what the deterministic engine read (`assess_case(case)`);
`engine_acuity` defaults to the assessment's level (pass the level actually in force when a
caller holds a more urgent one, e.g. intake's). An output that is not a valid
`ModelTriageOutput` raises `OutputRefused`: the caller keeps the deterministic result and
records the reason. The returned `SafeTriageOutput` goes into `TriageResult.details` under
`MODEL_OUTPUT_KEY`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.safety import confidence as layer2
from shared.safety.framing import frame
from shared.safety.grounding import check
from shared.safety.provenance import ai_generated_by, as_suggestion, licence_notice
from shared.safety.record import Record
from shared.safety.schema import (
    SAFETY_DISCLAIMER,
    CheckedClaim,
    KeyFinding,
    ModelTriageOutput,
    SafeTriageOutput,
)
from shared.safety.validation import applied_acuity
from shared.schemas import Assessment, CaseIn, ModelInfo

WITHHELD_SUMMARY = (
    "The model's summary is withheld: every sentence of it stated something not found in the "
    "record (see the list of statements not found in the record)."
)


class OutputRefused(ValueError):
    """The model's output is not a valid triage object (cut off, not JSON, wrong fields)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse(output: ModelTriageOutput | str | bytes | Mapping[str, Any]) -> ModelTriageOutput:
    """The model's object, or OutputRefused with the first validation error."""
    return parse_as(ModelTriageOutput, output)


def parse_as(kind: type[Output], output: Output | str | bytes | Mapping[str, Any]) -> Output:
    """`output` as a `kind` object, or OutputRefused with the first validation error."""
    if isinstance(output, kind):
        return output
    try:
        if isinstance(output, str | bytes):
            return kind.model_validate_json(output)
        return kind.model_validate(output)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "output"
        raise OutputRefused(f"invalid model output at {where}: {first.get('msg')}") from error


Checker = Callable[[str, str, bool], str]
Output = TypeVar("Output", bound=BaseModel)


@dataclass
class CheckedText:
    """The text part of a model output after the layers (both output kinds have it)."""

    summary: str
    key_findings: list[KeyFinding]
    next_steps: list[str]
    acuity_reason: str
    uncertainties: list[str]
    engine_acuity: int
    applied_acuity: int
    disagreement: str | None
    confidence: float
    confidence_note: str


def check_text_part(
    raw: Any,
    checked: Checker,
    record: Record,
    claims: list[CheckedClaim],
    *,
    assessment: Assessment,
    engine_acuity: int | None,
    fallbacks: Sequence[str],
    repaired: bool,
) -> CheckedText:
    """Summary, key findings (their evidence must be the record's own words), next steps as
    suggestions, the acuity reason and uncertainties through `checked` (framing and
    grounding); the acuity only more urgent; confidence from what the case had. Claims found
    land in `claims`."""
    summary = checked(raw.summary, "summary", False) or WITHHELD_SUMMARY
    findings: list[KeyFinding] = []
    for i, item in enumerate(raw.key_findings):
        where = f"key_findings[{i}]"
        finding = checked(item.finding, where, False)
        _, quoted = check(f'"{item.evidence}"', record, where + ".evidence")
        claims.extend(quoted)
        if finding and all(c.grounding != "ungrounded" for c in quoted):
            findings.append(KeyFinding(finding=finding, evidence=item.evidence))
    steps = [
        checked(as_suggestion(s), f"next_steps[{i}]", True) for i, s in enumerate(raw.next_steps)
    ]
    reason = checked(raw.acuity_reason, "acuity_reason", True)
    doubts = [checked(u, f"uncertainties[{i}]", False) for i, u in enumerate(raw.uncertainties)]
    engine = int(engine_acuity if engine_acuity is not None else assessment.acuity)
    applied, disagreement = applied_acuity(engine, raw.suggested_acuity)
    ungrounded = sum(c.grounding == "ungrounded" for c in claims)
    value, note = layer2.model_confidence(
        assessment, engine_acuity=engine, suggested_acuity=raw.suggested_acuity,
        fallbacks=fallbacks, ungrounded=ungrounded, repaired=repaired,
    )  # fmt: skip
    return CheckedText(
        summary=summary, key_findings=findings, next_steps=[s for s in steps if s],
        acuity_reason=reason, uncertainties=[u for u in doubts if u], engine_acuity=engine,
        applied_acuity=applied, disagreement=disagreement, confidence=value,
        confidence_note=note,
    )  # fmt: skip


def apply_safety(
    output: ModelTriageOutput | str | bytes | Mapping[str, Any],
    *,
    case: CaseIn,
    assessment: Assessment,
    model: ModelInfo,
    fallbacks: Sequence[str] = (),
    repaired: bool = False,
    engine_acuity: int | None = None,
    record: Record | None = None,
) -> SafeTriageOutput:
    """The checked output the board and the case page may show (see the module docstring)."""
    raw = parse(output)
    record = record or Record.of(case, assessment)
    claims: list[CheckedClaim] = []

    def checked(text: str, where: str, advice: bool) -> str:
        kept, found = check(frame(text), record, where, advice)
        claims.extend(found)
        return kept

    part = check_text_part(
        raw, checked, record, claims, assessment=assessment, engine_acuity=engine_acuity,
        fallbacks=fallbacks, repaired=repaired,
    )  # fmt: skip
    return SafeTriageOutput(
        summary=part.summary,
        key_findings=part.key_findings,
        next_steps=part.next_steps,
        suggested_acuity=raw.suggested_acuity,
        acuity_reason=part.acuity_reason,
        engine_acuity=part.engine_acuity,
        applied_acuity=part.applied_acuity,
        disagreement=part.disagreement,
        uncertainties=part.uncertainties,
        confidence=part.confidence,
        confidence_note=part.confidence_note,
        caution=layer2.caution(part.confidence),
        claims=claims,
        ai_generated_by=ai_generated_by(model),
        licence_notice=licence_notice(model),
        disclaimer=SAFETY_DISCLAIMER,
    )
