"""Layers 1, 2 and 4 on the deterministic text pipeline's output."""

from __future__ import annotations

from shared.pipelines.text import analyze_case_text
from shared.safety.schema import SAFETY_DISCLAIMER
from shared.schemas import CaseIn


def test_the_record_words_in_the_summary_stay_as_written_and_the_level_is_the_engines() -> None:
    case = CaseIn(age_years=70, chief_complaint="diagnosed with pneumonia by GP, definitely worse",
                  note="cough and fever")  # fmt: skip
    out = analyze_case_text(case)
    assert "chief complaint: diagnosed with pneumonia by GP, definitely worse" in out.summary
    assert out.safety_disclaimer == SAFETY_DISCLAIMER
    assert out.risk_level == out.assessment.risk_level
    assert out.confidence <= 0.95


def test_low_confidence_carries_the_caution() -> None:
    out = analyze_case_text(CaseIn(age_years=30, chief_complaint="cough"), age_known=False)
    assert out.confidence < 0.7
    assert any(r.startswith("Caution: low confidence") for r in out.recommendations)
