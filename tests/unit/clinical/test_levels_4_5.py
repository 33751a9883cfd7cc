"""Levels 4 and 5 (CLINICAL.md v2): level 5 only for a minor complaint with HR, RR, SpO2 and
BP documented and normal; no vital signs is at least 4, flagged, never 5; 4 by default."""

from __future__ import annotations

import pytest

from tests.unit.clinical.cases import assess, expect, shown

NO_CORE_VITALS = {
    "heart_rate": None,
    "respiratory_rate": None,
    "spo2": None,
    "systolic_bp": None,
    "diastolic_bp": None,
}

MINOR = [
    "prescription refill",
    "work note",
    "dressing change",
    "suture removal",
    "wound check",
    "sore throat",
    "insect bite",
    "splinter",
    "medication question",
    "test results",
]


@pytest.mark.parametrize("complaint", MINOR)
def test_minor_complaint_with_normal_documented_vitals_is_5(complaint):
    result = assess(complaint)
    assert result.acuity == 5, shown(result)
    assert result.risk_level.value == "low" and result.vitals_documented


@pytest.mark.parametrize(
    ("sbp", "dbp", "level"),
    [(99, 75, 4), (100, 75, 5), (159, 90, 5), (160, 90, 4), (140, 99, 5), (140, 100, 4)],
)
def test_level_5_blood_pressure_boundaries(sbp, dbp, level):
    result = assess("prescription refill", systolic_bp=sbp, diastolic_bp=dbp)
    assert result.acuity == level, shown(result)


@pytest.mark.parametrize(
    "vitals",
    [{"heart_rate": 105}, {"heart_rate": 91}, {"spo2": 95}, {"respiratory_rate": 21},
     {"respiratory_rate": 11}, {"temperature_c": 38.5}, {"consciousness": "C"}],
)  # fmt: skip
def test_minor_complaint_with_an_abnormal_vital_is_not_5(vitals):
    result = assess("prescription refill", **vitals)
    assert result.acuity < 5, shown(result)


def test_minor_complaint_with_hr_105_is_a_danger_zone_3():
    expect(assess("prescription refill", heart_rate=105), 3, "danger_zone")


def test_no_vital_signs_is_4_flagged_and_never_5():
    result = assess("prescription refill", **NO_CORE_VITALS)
    reason = expect(result, 4, "vitals_not_documented")
    assert "vital signs not documented" in reason.detail
    assert result.vitals_documented is False
    assert set(result.missing_vitals) == {"heart_rate", "respiratory_rate", "spo2", "systolic_bp"}


@pytest.mark.parametrize("missing", ["heart_rate", "respiratory_rate", "spo2", "systolic_bp"])
def test_some_vital_signs_missing_is_at_least_4_never_5(missing):
    vitals = {missing: None, "diastolic_bp": None} if missing == "systolic_bp" else {missing: None}
    result = assess("prescription refill", **vitals)
    assert result.acuity == 4, shown(result)
    assert result.vitals_documented and result.missing_vitals == [missing]


def test_no_vital_signs_with_a_level_2_flag_stays_2():
    result = assess("chest pain", age=58, **NO_CORE_VITALS)
    expect(result, 2, "acs_chest_pain")
    assert result.vitals_documented is False


def test_level_4_is_the_default():
    result = assess("review")
    assert result.acuity == 4 and result.reasons == [], shown(result)
    assert result.risk_level.value == "low"


def test_mild_peripheral_pain_keeps_a_minor_complaint_at_5():
    result = assess("insect bite", pain=3)
    assert result.acuity == 5, shown(result)


def test_severe_pain_takes_a_minor_complaint_off_5():
    expect(assess("sore throat", pain=8), 3, "pain")


def test_fever_in_a_well_adult_is_4():
    expect(assess("prescription refill", temperature_c=38.5), 4, "fever_sirs")


@pytest.mark.parametrize(
    ("complaint", "note", "age", "level"),
    [
        # A cough beside a cold's other symptoms is a cold (level 5 in a well adult) ...
        ("cough", "cough and runny nose 4 days, no SOB", 35, 5),
        # ... but not alone, and not in a child.
        ("cough", "cough for 4 days, no SOB", 35, 4),
        ("cough", "cough and runny nose 4 days", 6, 4),
        ("rash", "itchy red rash on legs after hiking, no fever", 35, 5),
    ],
)
def test_cold_and_minor_skin_complaints(complaint, note, age, level):
    result = assess(complaint, note, age=age)
    assert result.acuity == level, shown(result)


@pytest.mark.parametrize(
    ("note", "level"),
    [
        ("vomited twice, keeping fluids down now", 4),
        ("vomiting since last night, tolerating sips", 4),
        ("vomiting since last night, not tolerating fluids", 3),
        ("vomiting x 6 since last night", 3),
    ],
)
def test_vomiting_needs_two_resources_unless_fluids_stay_down(note, level):
    result = assess("vomiting", note, age=30)
    assert result.acuity == level, shown(result)
