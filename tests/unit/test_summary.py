"""The templated summary a clinician reads first."""

from __future__ import annotations

from shared.pipelines.news2 import News2Pipeline
from shared.schemas import CaseIn


def test_summary_names_complaint_scores_and_what_is_missing():
    case = CaseIn(
        age_years=67,
        sex="female",
        chief_complaint="short of breath",
        vitals={"respiratory_rate": 26, "spo2": 90, "on_oxygen": False, "heart_rate": 80},
    )
    result = News2Pipeline().analyze(case)
    assert result.summary.startswith("67-year-old female; chief complaint: short of breath;")
    assert "NEWS2 at least 6 (medium): RR 26 (+3), SpO2 90% (+3)" in result.summary
    assert "not documented: systolic_bp, consciousness, temperature" in result.summary
    # SpO2 90% is level 2 on its own (CLINICAL.md v2), whatever the NEWS2 band.
    assert result.assessment.acuity == 2 and result.risk_level.value == "high"
    assert "clinical validation" in result.safety_disclaimer


def test_summary_says_when_news2_does_not_apply():
    case = CaseIn(age_years=4, chief_complaint="fever", vitals={"heart_rate": 150})
    summary = News2Pipeline().analyze(case).summary
    assert summary.startswith("4-year-old;")
    assert "NEWS2 not applicable" in summary
