"""Case builders and verdict helpers shared by the acuity rule tests."""

from __future__ import annotations

from typing import Any

from shared.clinical.engine import assess_case
from shared.schemas import Assessment, CaseIn, Reason

# Every NEWS2 parameter present and scoring 0, blood pressure 125/75: a test changes one value.
NORMAL_ADULT: dict[str, Any] = {
    "respiratory_rate": 16,
    "spo2": 98,
    "on_oxygen": False,
    "systolic_bp": 125,
    "diastolic_bp": 75,
    "heart_rate": 75,
    "consciousness": "A",
    "temperature_c": 37.0,
}


def case(
    complaint: str = "review",
    note: str = "",
    *,
    age: float = 40,
    sex: str = "unknown",
    pregnant: bool = False,
    **vitals: Any,
) -> CaseIn:
    """An adult with normal vital signs, changed by `vitals`; a vital set to None is left out."""
    merged = {k: v for k, v in {**NORMAL_ADULT, **vitals}.items() if v is not None}
    return CaseIn(
        age_years=age,
        sex=sex,
        pregnant=pregnant,
        chief_complaint=complaint,
        note=note,
        vitals=merged,
    )


def assess(complaint: str = "review", note: str = "", **kwargs: Any) -> Assessment:
    """The engine's assessment of `case(complaint, note, **kwargs)`."""
    return assess_case(case(complaint, note, **kwargs))


def fired(result: Assessment) -> set[str]:
    """Every rule id that gave a reason."""
    return {r.rule for r in result.reasons}


def reason(result: Assessment, rule: str) -> Reason:
    """The most urgent reason of one rule (reasons are listed most urgent first)."""
    found = [r for r in result.reasons if r.rule == rule]
    assert found, f"rule {rule!r} did not fire: {shown(result)}"
    return found[0]


def shown(result: Assessment) -> str:
    """What a nurse sees: the level and each reason with its level and evidence."""
    reasons = "; ".join(
        f"{r.rule}={int(r.acuity)}" + (f' "{r.evidence}"' if r.evidence else "")
        for r in result.reasons
    )
    return f"acuity {int(result.acuity)} [{reasons}]"


def expect(result: Assessment, level: int, rule: str) -> Reason:
    """The case is at `level` and `rule` is a reason at that level."""
    assert result.acuity == level, shown(result)
    at_level = [r for r in result.reasons if r.rule == rule and r.acuity == level]
    assert at_level, f"rule {rule!r} not at level {level}: {shown(result)}"
    return at_level[0]


def expect_text(
    complaint: str, note: str, level: int, rule: str, evidence: str, **kwargs: Any
) -> Assessment:
    """A text rule: the case is at `level` because of `rule`, citing `evidence` at its exact
    place in the chief complaint or the note."""
    source_case = case(complaint, note, **kwargs)
    result = assess_case(source_case)
    assert result.acuity == level, shown(result)
    cited = [r for r in result.reasons if r.rule == rule and r.acuity == level]
    assert any(r.evidence == evidence for r in cited), f"{rule}: {evidence!r}? {shown(result)}"
    r = next(r for r in cited if r.evidence == evidence)
    text = source_case.chief_complaint if r.source == "chief_complaint" else source_case.note
    assert r.start is not None and r.end is not None
    assert text[r.start : r.end] == evidence
    return result
