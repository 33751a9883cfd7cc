"""Deterministic risk floor from structured data: levels and the reasons a clinician sees."""

from __future__ import annotations

from typing import Any

import pytest

from shared.clinical import assess
from shared.clinical.risk import danger_zone_limits
from shared.schemas import Assessment, CaseIn, Consciousness, RiskLevel
from tests.support.vitals import NORMAL

DAYS = 1 / 365.25


def run(age_years: float = 40, pregnant: bool = False, **vitals: Any) -> Assessment:
    """Assess a case with normal vitals except the ones given."""
    case = CaseIn(
        age_years=age_years,
        pregnant=pregnant,
        chief_complaint="unwell",
        vitals={**NORMAL, **vitals},
    )
    return assess(case)


def rules(assessment: Assessment) -> list[str]:
    """Rule ids of the reasons, in the order shown."""
    return [r.rule for r in assessment.reasons]


def test_normal_adult_is_low_with_no_reasons() -> None:
    result = run()
    assert result.risk_level is RiskLevel.LOW
    assert result.reasons == []
    assert result.news2.total == 0


def test_news2_8_is_high_and_the_reason_names_the_contributors() -> None:
    result = run(respiratory_rate=26, spo2=90, on_oxygen=True)
    assert result.risk_level is RiskLevel.HIGH
    top = result.reasons[0]
    assert (top.rule, top.level, top.value) == ("news2_total", RiskLevel.HIGH, 8)
    assert top.detail.startswith("NEWS2 8 (high): ")
    assert "RR 26 (+3)" in top.detail
    assert "SpO2 90% (+3)" in top.detail
    assert "oxygen (+2)" in top.detail


@pytest.mark.parametrize(
    ("vitals", "total", "level"),
    [
        ({"systolic_bp": 95, "temperature_c": 39.1}, 4, RiskLevel.LOW),
        ({"systolic_bp": 105, "temperature_c": 39.1, "on_oxygen": True}, 5, RiskLevel.MEDIUM),
        ({"systolic_bp": 95, "temperature_c": 39.1, "on_oxygen": True}, 6, RiskLevel.MEDIUM),
        (
            {"systolic_bp": 95, "temperature_c": 39.1, "on_oxygen": True, "spo2": 94},
            7,
            RiskLevel.HIGH,
        ),
    ],
)
def test_news2_total_sets_the_level(vitals: dict[str, Any], total: int, level: RiskLevel) -> None:
    result = run(**vitals)
    assert result.news2.total == total
    assert result.risk_level is level
    assert ("news2_total" in rules(result)) is (total >= 5)


@pytest.mark.parametrize(
    ("vitals", "value"),
    [
        ({"consciousness": Consciousness.VOICE}, "V"),
        ({"consciousness": Consciousness.CONFUSION}, "C"),
        ({"systolic_bp": 90}, 90),
        ({"temperature_c": 35.0}, 35.0),
        ({"heart_rate": 40}, 40),
    ],
)
def test_a_single_parameter_scoring_3_is_medium(vitals: dict[str, Any], value: Any) -> None:
    result = run(**vitals)
    assert result.news2.band == "low-medium"
    assert result.risk_level is RiskLevel.MEDIUM
    assert rules(result) == ["news2_single_parameter"]
    assert result.reasons[0].value == value


# (age in years, HR limit, RR limit) for each ESI v5 age band.
BANDS = [
    pytest.param(14 * DAYS, 190, 60, id="under-1-month"),
    pytest.param(0.5, 180, 55, id="1-12-months"),
    pytest.param(2, 140, 40, id="1-3-years"),
    pytest.param(4, 120, 35, id="3-5-years"),
    pytest.param(8, 120, 30, id="5-12-years"),
    pytest.param(40, 100, 20, id="over-12-years"),
]


@pytest.mark.parametrize(("age", "hr_limit", "rr_limit"), BANDS)
def test_heart_rate_at_the_danger_zone_limit_is_not_flagged(
    age: float, hr_limit: int, rr_limit: int
) -> None:
    assert "danger_zone_hr" not in rules(run(age_years=age, heart_rate=hr_limit))


@pytest.mark.parametrize(("age", "hr_limit", "rr_limit"), BANDS)
def test_heart_rate_above_the_danger_zone_limit_is_medium(
    age: float, hr_limit: int, rr_limit: int
) -> None:
    result = run(age_years=age, heart_rate=hr_limit + 1)
    assert result.risk_level is RiskLevel.MEDIUM
    (reason,) = [r for r in result.reasons if r.rule == "danger_zone_hr"]
    assert (reason.level, reason.value) == (RiskLevel.MEDIUM, hr_limit + 1)
    assert f"above {hr_limit}" in reason.detail


@pytest.mark.parametrize(("age", "hr_limit", "rr_limit"), BANDS)
def test_respiratory_rate_at_the_danger_zone_limit_is_not_flagged(
    age: float, hr_limit: int, rr_limit: int
) -> None:
    assert "danger_zone_rr" not in rules(run(age_years=age, respiratory_rate=rr_limit))


@pytest.mark.parametrize(("age", "hr_limit", "rr_limit"), BANDS)
def test_respiratory_rate_above_the_danger_zone_limit_is_medium(
    age: float, hr_limit: int, rr_limit: int
) -> None:
    result = run(age_years=age, respiratory_rate=rr_limit + 1)
    assert result.risk_level is RiskLevel.MEDIUM
    (reason,) = [r for r in result.reasons if r.rule == "danger_zone_rr"]
    assert (reason.level, reason.value) == (RiskLevel.MEDIUM, rr_limit + 1)
    assert f"above {rr_limit}" in reason.detail


def test_children_are_judged_by_danger_zone_not_news2() -> None:
    # HR 130 would score NEWS2 +2 in an adult; at 2 years it is under the 140 limit.
    result = run(age_years=2, heart_rate=130, respiratory_rate=35)
    assert result.news2.applicable is False
    assert result.risk_level is RiskLevel.LOW
    assert result.reasons == []


@pytest.mark.parametrize(
    ("age", "hr", "rr"),
    [
        pytest.param(1 / 12, 180, 55, id="exactly-1-month-is-1-12-months"),
        pytest.param(1.0, 140, 40, id="exactly-1-year-is-1-3-years"),
        pytest.param(3.0, 120, 35, id="exactly-3-years-is-3-5-years"),
        pytest.param(5.0, 120, 30, id="exactly-5-years-is-5-12-years"),
        pytest.param(12.0, 120, 30, id="exactly-12-years-is-5-12-years"),
        pytest.param(12.01, 100, 20, id="just-over-12-years"),
    ],
)
def test_age_band_edges(age: float, hr: int, rr: int) -> None:
    assert danger_zone_limits(age)[:2] == (hr, rr)


@pytest.mark.parametrize(
    ("age", "heart_rate", "level"),
    [(0.99, 150, RiskLevel.LOW), (1.0, 150, RiskLevel.MEDIUM), (12, 110, RiskLevel.LOW)],
)
def test_age_band_edges_change_the_level(age: float, heart_rate: int, level: RiskLevel) -> None:
    assert run(age_years=age, heart_rate=heart_rate).risk_level is level


@pytest.mark.parametrize("age", [14 * DAYS, 2, 8, 40, 80])
def test_spo2_below_92_is_medium_at_any_age(age: float) -> None:
    result = run(age_years=age, spo2=91)
    assert result.risk_level is RiskLevel.MEDIUM
    assert "danger_zone_spo2" in rules(result)


@pytest.mark.parametrize("age", [14 * DAYS, 2, 8, 40, 80])
def test_spo2_92_is_not_danger_zone(age: float) -> None:
    result = run(age_years=age, spo2=92)
    assert "danger_zone_spo2" not in rules(result)
    assert result.risk_level is RiskLevel.LOW


@pytest.mark.parametrize(
    ("days", "temperature", "febrile"),
    [(28, 38.1, True), (29, 38.1, False), (28, 38.0, False), (0, 39.5, True), (10, 38.04, False)],
)
def test_febrile_neonate_is_high(days: int, temperature: float, febrile: bool) -> None:
    result = run(age_years=days * DAYS, temperature_c=temperature)
    assert ("febrile_neonate" in rules(result)) is febrile
    assert result.risk_level is (RiskLevel.HIGH if febrile else RiskLevel.LOW)


@pytest.mark.parametrize(
    ("sbp", "flagged"), [(89, True), (90, False), (120, False), (150, False), (151, True)]
)
def test_pregnancy_blood_pressure(sbp: int, flagged: bool) -> None:
    result = run(age_years=30, pregnant=True, systolic_bp=sbp)
    assert result.news2.applicable is False
    assert ("pregnancy_bp" in rules(result)) is flagged
    assert result.risk_level is (RiskLevel.MEDIUM if flagged else RiskLevel.LOW)


def test_blood_pressure_151_outside_pregnancy_is_low() -> None:
    assert run(age_years=30, systolic_bp=151).risk_level is RiskLevel.LOW


def test_incomplete_news2_with_a_low_result_says_what_is_missing() -> None:
    result = assess(CaseIn(age_years=40, chief_complaint="unwell", vitals={"heart_rate": 70}))
    assert result.risk_level is RiskLevel.LOW
    (reason,) = result.reasons
    assert (reason.rule, reason.level) == ("news2_incomplete", RiskLevel.LOW)
    for name in ("respiratory_rate", "spo2", "air_or_oxygen", "temperature"):
        assert name in reason.detail


def test_oxygen_undocumented_is_flagged_as_incomplete() -> None:
    result = run(on_oxygen=None)
    assert result.risk_level is RiskLevel.LOW
    assert rules(result) == ["news2_incomplete"]
    assert result.reasons[0].value == "air_or_oxygen"


def test_incomplete_note_is_not_added_when_the_level_is_already_raised() -> None:
    result = run(on_oxygen=None, systolic_bp=90)
    assert result.risk_level is RiskLevel.MEDIUM
    assert "news2_incomplete" not in rules(result)


def test_a_floor_total_says_at_least() -> None:
    case = CaseIn(
        age_years=70,
        chief_complaint="unwell",
        vitals={"systolic_bp": 95, "temperature_c": 39.1, "on_oxygen": True, "spo2": 94},
    )
    result = assess(case)
    assert result.risk_level is RiskLevel.HIGH
    assert result.reasons[0].detail.startswith("NEWS2 at least 7 (high; missing: ")


def test_reasons_are_ordered_most_urgent_first() -> None:
    result = run(respiratory_rate=26, spo2=90, on_oxygen=True)
    levels = [r.level.rank for r in result.reasons]
    assert levels == sorted(levels, reverse=True)
    assert set(rules(result)) == {
        "news2_total",
        "news2_single_parameter",
        "danger_zone_rr",
        "danger_zone_spo2",
    }
