"""Fever, infant, pregnancy and hypertension rules at every boundary of CLINICAL.md v2."""

from __future__ import annotations

import pytest

from tests.unit.clinical.cases import assess, expect, expect_text, fired, shown

NEONATE = 20 / 365.25  # 20 days
PREGNANT = {"age": 28, "sex": "female", "pregnant": True}
WOMAN = {"age": 28, "sex": "female"}
MAN = {"age": 50, "sex": "male"}


# Fever in adults: "looks septic" (CTAS)


@pytest.mark.parametrize(
    ("temperature", "hr", "rr", "level"),
    [
        (38.0, 91, 21, 2),  # fever with HR > 90 AND RR > 20
        (38.0, 90, 21, 3),  # only RR
        (38.0, 91, 20, 3),  # only HR
        (38.0, 90, 20, 4),  # a well adult with fever
        (39.5, 120, 24, 2),
    ],
)
def test_adult_fever_with_heart_and_respiratory_rate(temperature, hr, rr, level):
    result = assess(temperature_c=temperature, heart_rate=hr, respiratory_rate=rr)
    assert result.acuity == level, shown(result)
    assert any(r.rule == "fever_sirs" and r.acuity == level for r in result.reasons)


def test_37_9_is_not_a_fever():
    result = assess(temperature_c=37.9, heart_rate=91, respiratory_rate=21)
    assert "fever_sirs" not in fired(result)
    expect(result, 3, "danger_zone")  # RR 21 alone


def test_fever_rule_is_for_adults_only():
    result = assess(age=15, temperature_c=38.5, heart_rate=91, respiratory_rate=21)
    assert "fever_sirs" not in fired(result), shown(result)


# Fever with immunosuppression (anyone)


@pytest.mark.parametrize(
    ("note", "evidence"),
    [
        ("on chemotherapy for breast cancer", "chemotherapy"),
        ("renal transplant 2019", "transplant"),
        ("known neutropenia", "neutropenia"),
        ("long-term prednisolone for COPD", "long-term prednisolone"),
    ],
)
def test_fever_with_immunosuppression_is_level_2(note, evidence):
    expect_text("fever", note, 2, "fever_immunosuppressed", evidence, temperature_c=38.0)


def test_fever_with_immunosuppression_in_a_child():
    expect(
        assess("fever", "on chemotherapy for leukaemia", age=6, temperature_c=38.2),
        2,
        "fever_immunosuppressed",
    )


def test_reported_fever_counts_with_immunosuppression():
    result = assess("fever at home", "on chemotherapy", temperature_c=37.2)
    expect(result, 2, "fever_immunosuppressed")


@pytest.mark.parametrize(
    ("note", "temperature"),
    [
        ("on chemotherapy", 37.9),  # no fever
        ("no chemotherapy, no steroids", 38.5),  # not immunosuppressed
    ],
)
def test_immunosuppression_needs_both(note, temperature):
    result = assess("review", note, temperature_c=temperature)
    assert "fever_immunosuppressed" not in fired(result), shown(result)


# Infants


@pytest.mark.parametrize(
    ("age", "temperature", "level"),
    [
        (0.2, 38.0, 2),  # under 3 months, 38.0 or above
        (NEONATE, 38.0, 2),
        (0.5, 39.0, 3),  # 3-36 months, 39.0 or above
        (0.25, 39.0, 3),  # 3 months belongs to the older band
        (2.99, 39.0, 3),
    ],
)
def test_infant_fever(age, temperature, level):
    expect(assess("fever", age=age, temperature_c=temperature), level, "infant_fever")


@pytest.mark.parametrize(
    ("age", "temperature"), [(0.2, 37.9), (0.25, 38.5), (0.5, 38.9), (3.0, 39.0)]
)
def test_infant_fever_below_the_threshold_of_the_age(age, temperature):
    result = assess("fever", age=age, temperature_c=temperature)
    assert "infant_fever" not in fired(result), shown(result)
    assert result.acuity == 4, shown(result)


def test_infant_fever_after_immunisations_still_counts():
    result = assess("fever", "fever after immunisations this morning", age=0.2, temperature_c=38.0)
    expect(result, 2, "infant_fever")


def test_neonate_below_36_0_is_level_2_and_36_0_is_not():
    expect(assess("cold to touch", age=NEONATE, temperature_c=35.9), 2, "neonate")
    assert "neonate" not in fired(assess("review", age=NEONATE, temperature_c=36.0))


def test_the_neonate_rule_stops_at_28_days():
    result = assess("review", age=28 / 365.25, temperature_c=35.9)
    assert "neonate" not in fired(result), shown(result)


def test_neonate_feeding_poorly_and_lethargic():
    expect_text("poor feeding", "very lethargic", 2, "neonate", "poor feeding", age=NEONATE)


# Pregnancy and up to 6 weeks postpartum


@pytest.mark.parametrize(
    ("sbp", "dbp", "level"),
    [
        (160, 95, 2),
        (159, 95, 3),
        (150, 110, 2),
        (150, 109, 3),
        (140, 85, 3),
        (135, 90, 3),
    ],
)
def test_pregnancy_blood_pressure_without_symptoms(sbp, dbp, level):
    result = assess("antenatal check", systolic_bp=sbp, diastolic_bp=dbp, **PREGNANT)
    expect(result, level, "pregnancy_blood_pressure")


def test_pregnancy_blood_pressure_below_140_90_gives_nothing():
    result = assess("antenatal check", systolic_bp=139, diastolic_bp=89, **PREGNANT)
    assert "pregnancy_blood_pressure" not in fired(result)
    assert result.acuity == 4, shown(result)


@pytest.mark.parametrize(
    ("complaint", "evidence"),
    [
        ("headache", "headache"),
        ("blurred vision", "blurred vision"),
        ("epigastric pain", "epigastric pain"),
        ("right upper quadrant pain", "right upper quadrant pain"),
        ("seizure", "seizure"),
    ],
)
def test_pregnancy_140_90_with_pre_eclampsia_features_is_level_2(complaint, evidence):
    expect_text(
        complaint,
        "",
        2,
        "pregnancy_blood_pressure",
        evidence,
        systolic_bp=140,
        diastolic_bp=85,
        **PREGNANT,
    )


def test_pre_eclampsia_features_below_140_90_give_no_blood_pressure_reason():
    result = assess("headache", systolic_bp=139, diastolic_bp=89, **PREGNANT)
    assert "pregnancy_blood_pressure" not in fired(result), shown(result)


def test_postpartum_blood_pressure_with_headache():
    result = assess("headache", "gave birth 3 weeks ago", systolic_bp=145, diastolic_bp=92, **WOMAN)
    expect(result, 2, "pregnancy_blood_pressure")


def test_pregnancy_systolic_90_is_level_2_and_91_is_not():
    expect(assess("dizzy", systolic_bp=90, diastolic_bp=50, **PREGNANT), 2,
           "pregnancy_hypotension")  # fmt: skip
    result = assess("antenatal check", systolic_bp=91, diastolic_bp=50, **PREGNANT)
    assert "pregnancy_hypotension" not in fired(result), shown(result)


def test_vaginal_bleeding_from_20_weeks_is_level_2():
    expect_text(
        "vaginal bleeding", "20 weeks pregnant", 2, "pregnancy_bleeding", "vaginal bleeding",
        **PREGNANT,
    )  # fmt: skip


def test_vaginal_bleeding_at_19_weeks_is_not_the_20_week_rule():
    result = assess("vaginal bleeding", "19 weeks pregnant", **PREGNANT)
    assert "pregnancy_bleeding" not in fired(result), shown(result)


@pytest.mark.parametrize(
    ("complaint", "note", "evidence"),
    [
        ("abdominal pain", "missed period, positive pregnancy test", "abdominal pain"),
        ("lower abdominal pain", "missed period", "lower abdominal pain"),
        ("fainted", "missed period", "fainted"),
    ],
)
def test_possible_ectopic_pregnancy(complaint, note, evidence):
    expect_text(complaint, note, 2, "possible_ectopic", evidence, **WOMAN)


def test_abdominal_pain_without_a_suspected_pregnancy_is_not_ectopic():
    result = assess("abdominal pain", "last period 2 weeks ago, normal", **WOMAN)
    assert "possible_ectopic" not in fired(result), shown(result)


def test_postpartum_abdominal_pain_is_not_a_possible_ectopic():
    result = assess("abdominal pain", "2 weeks postpartum", **WOMAN)
    assert "possible_ectopic" not in fired(result), shown(result)


# Hypertension


@pytest.mark.parametrize(
    ("complaint", "sbp", "dbp", "level"),
    [
        ("headache", 220, 100, 2),
        ("headache", 219, 100, 3),
        ("BP check", 220, 100, 3),
        ("headache", 180, 130, 2),
        ("headache", 180, 129, 3),
        ("BP check", 180, 130, 3),
        ("headache", 200, 100, 3),
        ("headache", 180, 110, 3),
        ("blurred vision", 220, 100, 2),
        ("short of breath", 220, 100, 2),
        ("left arm weakness", 220, 100, 2),
    ],
)
def test_hypertension(complaint, sbp, dbp, level):
    expect(assess(complaint, systolic_bp=sbp, diastolic_bp=dbp, **MAN), level, "hypertension")


@pytest.mark.parametrize(
    ("complaint", "sbp", "dbp"),
    [
        ("headache", 199, 100),
        ("headache", 180, 109),
        ("BP check", 219, 100),
        ("BP check", 180, 129),
        ("BP check", 200, 110),
    ],
)
def test_hypertension_below_the_thresholds(complaint, sbp, dbp):
    result = assess(complaint, systolic_bp=sbp, diastolic_bp=dbp, **MAN)
    assert "hypertension" not in fired(result), shown(result)


def test_denied_symptoms_do_not_make_hypertension_symptomatic():
    result = assess("BP check", "no headache, no chest pain", systolic_bp=220, diastolic_bp=100)
    expect(result, 3, "hypertension")
