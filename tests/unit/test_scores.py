"""qSOFA and shock index at their boundaries."""

from __future__ import annotations

import pytest

from shared.clinical.scores import qsofa, shock_index
from shared.schemas import Consciousness, VitalSigns


@pytest.mark.parametrize(
    ("vitals", "score", "positive"),
    [
        ({"respiratory_rate": 21, "systolic_bp": 101, "consciousness": "A"}, 0, False),
        ({"respiratory_rate": 22, "systolic_bp": 101, "consciousness": "A"}, 1, False),
        ({"respiratory_rate": 22, "systolic_bp": 100, "consciousness": "A"}, 2, True),
        ({"respiratory_rate": 22, "systolic_bp": 100, "consciousness": "C"}, 3, True),
        ({"respiratory_rate": 12, "systolic_bp": 140, "consciousness": "V"}, 1, False),
    ],
)
def test_qsofa_boundaries(vitals, score, positive):
    result = qsofa(VitalSigns(**vitals))
    assert (result.score, result.positive) == (score, positive)
    assert result.missing == []


def test_qsofa_reports_what_it_could_not_judge():
    result = qsofa(VitalSigns(respiratory_rate=30))
    assert result.score == 1 and not result.positive
    assert result.missing == ["systolic_bp <= 100", "altered mentation"]
    assert qsofa(VitalSigns(consciousness=Consciousness.PAIN)).criteria == ["altered mentation"]


@pytest.mark.parametrize(
    ("hr", "sbp", "value", "abnormal", "poor"),
    [(90, 100, 0.9, False, False), (91, 100, 0.91, True, False), (100, 100, 1.0, True, True),
     (60, 120, 0.5, False, False)],
)  # fmt: skip
def test_shock_index_boundaries(hr, sbp, value, abnormal, poor):
    result = shock_index(VitalSigns(heart_rate=hr, systolic_bp=sbp))
    assert result is not None
    assert (result.value, result.abnormal, result.poor_outcome_range) == (value, abnormal, poor)


def test_shock_index_needs_both_values():
    assert shock_index(VitalSigns(heart_rate=120)) is None
