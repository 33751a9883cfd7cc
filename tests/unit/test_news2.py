"""NEWS2 scoring at every boundary of the RCP 2017 chart."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.clinical import score_news2
from shared.schemas import Consciousness, NEWS2Result, VitalSigns
from tests.support.vitals import NORMAL

ALL_PARAMETERS = [
    "respiratory_rate",
    "spo2",
    "air_or_oxygen",
    "systolic_bp",
    "heart_rate",
    "consciousness",
    "temperature",
]


def score(age_years: float = 40, pregnant: bool = False, **overrides: Any) -> NEWS2Result:
    """NEWS2 for normal adult vitals with some fields overridden."""
    vitals = VitalSigns(**{**NORMAL, **overrides})
    return score_news2(vitals, age_years=age_years, pregnant=pregnant)


def scores(result: NEWS2Result) -> dict[str, int]:
    """Score of each known parameter by name."""
    return {p.parameter: p.score for p in result.parameters}


@pytest.mark.parametrize(
    ("field", "parameter", "value", "expected"),
    [
        # respiratory rate: <=8 | 9-11 | 12-20 | 21-24 | >=25
        ("respiratory_rate", "respiratory_rate", 8, 3),
        ("respiratory_rate", "respiratory_rate", 9, 1),
        ("respiratory_rate", "respiratory_rate", 11, 1),
        ("respiratory_rate", "respiratory_rate", 12, 0),
        ("respiratory_rate", "respiratory_rate", 20, 0),
        ("respiratory_rate", "respiratory_rate", 21, 2),
        ("respiratory_rate", "respiratory_rate", 24, 2),
        ("respiratory_rate", "respiratory_rate", 25, 3),
        # SpO2 scale 1: <=91 | 92-93 | 94-95 | >=96
        ("spo2", "spo2", 91, 3),
        ("spo2", "spo2", 92, 2),
        ("spo2", "spo2", 93, 2),
        ("spo2", "spo2", 94, 1),
        ("spo2", "spo2", 95, 1),
        ("spo2", "spo2", 96, 0),
        ("spo2", "spo2", 100, 0),
        # systolic BP: <=90 | 91-100 | 101-110 | 111-219 | >=220
        ("systolic_bp", "systolic_bp", 90, 3),
        ("systolic_bp", "systolic_bp", 91, 2),
        ("systolic_bp", "systolic_bp", 100, 2),
        ("systolic_bp", "systolic_bp", 101, 1),
        ("systolic_bp", "systolic_bp", 110, 1),
        ("systolic_bp", "systolic_bp", 111, 0),
        ("systolic_bp", "systolic_bp", 219, 0),
        ("systolic_bp", "systolic_bp", 220, 3),
        # pulse: <=40 | 41-50 | 51-90 | 91-110 | 111-130 | >=131
        ("heart_rate", "heart_rate", 40, 3),
        ("heart_rate", "heart_rate", 41, 1),
        ("heart_rate", "heart_rate", 50, 1),
        ("heart_rate", "heart_rate", 51, 0),
        ("heart_rate", "heart_rate", 90, 0),
        ("heart_rate", "heart_rate", 91, 1),
        ("heart_rate", "heart_rate", 110, 1),
        ("heart_rate", "heart_rate", 111, 2),
        ("heart_rate", "heart_rate", 130, 2),
        ("heart_rate", "heart_rate", 131, 3),
        # temperature: <=35.0 | 35.1-36.0 | 36.1-38.0 | 38.1-39.0 | >=39.1
        ("temperature_c", "temperature", 35.0, 3),
        ("temperature_c", "temperature", 35.1, 1),
        ("temperature_c", "temperature", 36.0, 1),
        ("temperature_c", "temperature", 36.1, 0),
        ("temperature_c", "temperature", 38.0, 0),
        ("temperature_c", "temperature", 38.1, 1),
        ("temperature_c", "temperature", 39.0, 1),
        ("temperature_c", "temperature", 39.1, 2),
        # consciousness: alert 0; new confusion, V, P or U 3
        ("consciousness", "consciousness", Consciousness.ALERT, 0),
        ("consciousness", "consciousness", Consciousness.CONFUSION, 3),
        ("consciousness", "consciousness", Consciousness.VOICE, 3),
        ("consciousness", "consciousness", Consciousness.PAIN, 3),
        ("consciousness", "consciousness", Consciousness.UNRESPONSIVE, 3),
        # air or oxygen: oxygen 2, air 0
        ("on_oxygen", "air_or_oxygen", True, 2),
        ("on_oxygen", "air_or_oxygen", False, 0),
    ],
)
def test_each_threshold_scores_per_chart(
    field: str, parameter: str, value: Any, expected: int
) -> None:
    result = score(**{field: value})
    assert scores(result)[parameter] == expected
    assert result.total == expected
    assert result.missing == []
    assert result.is_floor is False


@pytest.mark.parametrize(
    ("raw", "rounded", "expected"),
    [(38.04, 38.0, 0), (38.06, 38.1, 1), (35.04, 35.0, 3), (36.04, 36.0, 1), (39.06, 39.1, 2)],
)
def test_temperature_is_rounded_to_a_tenth_before_scoring(
    raw: float, rounded: float, expected: int
) -> None:
    result = score(temperature_c=raw)
    (temperature,) = [p for p in result.parameters if p.parameter == "temperature"]
    assert temperature.value == rounded
    assert temperature.score == expected


@pytest.mark.parametrize("fahrenheit", [98.6, 101.3])
def test_a_fahrenheit_reading_is_rejected_not_scored_as_celsius(fahrenheit: float) -> None:
    with pytest.raises(ValidationError):
        VitalSigns(temperature_c=fahrenheit)


@pytest.mark.parametrize(
    ("spo2", "expected"),
    [(83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0), (93, 0), (97, 0), (100, 0)],
)
def test_scale2_on_air(spo2: int, expected: int) -> None:
    result = score(spo2=spo2, spo2_scale2=True, on_oxygen=False)
    assert scores(result)["spo2"] == expected
    assert result.total == expected


@pytest.mark.parametrize(
    ("spo2", "expected"),
    [
        (83, 3),
        (84, 2),
        (85, 2),
        (86, 1),
        (87, 1),
        (88, 0),
        (92, 0),
        (93, 1),
        (94, 1),
        (95, 2),
        (96, 2),
        (97, 3),
        (100, 3),
    ],
)
def test_scale2_on_oxygen(spo2: int, expected: int) -> None:
    result = score(spo2=spo2, spo2_scale2=True, on_oxygen=True)
    assert scores(result) == {**scores(score()), "spo2": expected, "air_or_oxygen": 2}
    assert result.total == expected + 2


def test_scale2_high_spo2_with_oxygen_undocumented_scores_0_and_oxygen_is_missing() -> None:
    result = score(spo2=97, spo2_scale2=True, on_oxygen=None)
    assert scores(result)["spo2"] == 0
    assert result.missing == ["air_or_oxygen"]
    assert result.is_floor is True


def test_without_the_scale2_flag_a_target_88_92_saturation_scores_on_scale1() -> None:
    assert scores(score(spo2=88))["spo2"] == 3


def test_oxygen_undocumented_is_missing_not_air() -> None:
    result = score(on_oxygen=None)
    assert "air_or_oxygen" not in scores(result)
    assert result.missing == ["air_or_oxygen"]
    assert result.is_floor is True


@pytest.mark.parametrize(
    ("overrides", "total", "band"),
    [
        ({}, 0, "low"),
        ({"respiratory_rate": 21, "heart_rate": 91, "temperature_c": 38.1}, 4, "low"),
        ({"respiratory_rate": 25}, 3, "low-medium"),
        ({"consciousness": Consciousness.VOICE, "heart_rate": 91}, 4, "low-medium"),
        ({"systolic_bp": 105, "temperature_c": 39.1, "on_oxygen": True}, 5, "medium"),
        ({"systolic_bp": 90, "on_oxygen": True}, 5, "medium"),
        ({"systolic_bp": 95, "temperature_c": 39.1, "on_oxygen": True}, 6, "medium"),
        ({"systolic_bp": 95, "temperature_c": 39.1, "on_oxygen": True, "spo2": 94}, 7, "high"),
        ({"respiratory_rate": 26, "spo2": 90, "on_oxygen": True}, 8, "high"),
    ],
)
def test_bands(overrides: dict[str, Any], total: int, band: str) -> None:
    result = score(**overrides)
    assert (result.total, result.band) == (total, band)


def test_no_vitals_is_a_zero_floor_with_everything_missing() -> None:
    result = score_news2(VitalSigns(), age_years=40, pregnant=False)
    assert result.applicable is True
    assert (result.total, result.is_floor) == (0, True)
    assert result.missing == ALL_PARAMETERS
    assert result.parameters == []


def test_partial_vitals_sum_the_known_ones_as_a_floor() -> None:
    vitals = VitalSigns(respiratory_rate=25, heart_rate=115)
    result = score_news2(vitals, age_years=70, pregnant=False)
    assert scores(result) == {"respiratory_rate": 3, "heart_rate": 2}
    assert (result.total, result.band, result.is_floor) == (5, "medium", True)
    assert result.missing == [
        p for p in ALL_PARAMETERS if p not in ("respiratory_rate", "heart_rate")
    ]


def test_complete_vitals_report_every_parameter_with_its_value() -> None:
    result = score(on_oxygen=True)
    values = {p.parameter: p.value for p in result.parameters}
    assert values == {
        "respiratory_rate": 16,
        "spo2": 98,
        "air_or_oxygen": "oxygen",
        "systolic_bp": 120,
        "heart_rate": 70,
        "consciousness": "A",
        "temperature": 37.0,
    }


@pytest.mark.parametrize("age_years", [0.5, 10, 15.99])
def test_not_applicable_under_16(age_years: float) -> None:
    result = score(age_years=age_years, respiratory_rate=30)
    assert result.applicable is False
    assert result.total is None
    assert result.band is None
    assert result.not_applicable_reason is not None
    assert "16" in result.not_applicable_reason


def test_applicable_from_16() -> None:
    result = score(age_years=16, respiratory_rate=30)
    assert (result.applicable, result.total) == (True, 3)


def test_not_applicable_in_pregnancy() -> None:
    result = score(pregnant=True, respiratory_rate=30)
    assert result.applicable is False
    assert result.total is None
    assert result.not_applicable_reason is not None
    assert "pregnan" in result.not_applicable_reason


@pytest.mark.parametrize(
    ("consciousness", "gcs", "value", "points"),
    [
        (None, 14, "GCS 14", 3),  # GCS below 15 is not alert
        (Consciousness.ALERT, 14, "GCS 14", 3),  # both given: the more urgent counts
        (Consciousness.VOICE, 14, "V", 3),
        (None, 15, None, None),  # GCS 15 alone: consciousness stays missing, not assumed
        (Consciousness.ALERT, 15, "A", 0),
    ],
)
def test_gcs_below_15_scores_as_not_alert(
    consciousness: Consciousness | None, gcs: int, value: str | None, points: int | None
) -> None:
    result = score(consciousness=consciousness, gcs=gcs)
    scored = {p.parameter: p for p in result.parameters}.get("consciousness")
    if value is None:
        assert scored is None and "consciousness" in result.missing
    else:
        assert scored is not None and (scored.value, scored.score) == (value, points)
