"""Vital-sign rules at every boundary of CLINICAL.md v2: level-1 criteria, level-2 and
level-3 scores, and the ESI danger zone by age."""

from __future__ import annotations

import pytest

from tests.unit.clinical.cases import assess, expect, fired, shown

NEONATE = 20 / 365.25  # 20 days
# A vital the level-1 tests lower below the normal diastolic 75 takes the diastolic with it.
LOW_BP = {"diastolic_bp": None}

# Level 1: consciousness


@pytest.mark.parametrize(
    ("vitals", "level", "rule"),
    [
        ({"consciousness": "P"}, 1, "unresponsive"),
        ({"consciousness": "U"}, 1, "unresponsive"),
        ({"consciousness": "V"}, 2, "voice_or_confusion"),
        ({"consciousness": "C"}, 2, "voice_or_confusion"),
        ({"gcs": 3, "consciousness": None}, 1, "unresponsive"),
        ({"gcs": 9, "consciousness": None}, 1, "unresponsive"),
        ({"gcs": 10, "consciousness": None}, 2, "voice_or_confusion"),
        ({"gcs": 13, "consciousness": None}, 2, "voice_or_confusion"),
        # GCS below 15 counts as not alert: NEWS2 consciousness 3, a single parameter of 3.
        ({"gcs": 14, "consciousness": None}, 3, "news2_single_parameter"),
        # Both given: the more urgent counts.
        ({"gcs": 9, "consciousness": "A"}, 1, "unresponsive"),
        ({"gcs": 14, "consciousness": "P"}, 1, "unresponsive"),
        ({"gcs": 15, "consciousness": "V"}, 2, "voice_or_confusion"),
    ],
)
def test_consciousness_levels(vitals, level, rule):
    expect(assess(**vitals), level, rule)


def test_gcs_14_is_not_level_2_and_gcs_15_alert_gives_nothing():
    assert "voice_or_confusion" not in fired(assess(gcs=14, consciousness=None))
    assert assess(gcs=15).reasons == []


def test_gcs_14_counts_in_the_news2_total():
    # GCS 14 (3) + systolic 100 (2) + temperature 39.1 (2) = 7 -> level 2.
    expect(assess(gcs=14, consciousness=None, systolic_bp=100, temperature_c=39.1), 2, "news2")


# Level 1 and 2: oxygen saturation, scale 1 and scale 2


@pytest.mark.parametrize(
    ("spo2", "scale2", "level", "rule"),
    [
        (89, False, 1, "spo2_very_low"),
        (90, False, 2, "spo2_low"),
        (91, False, 2, "spo2_low"),
        (79, True, 1, "spo2_very_low"),
        (80, True, 2, "spo2_low"),
        (83, True, 2, "spo2_low"),
        (84, True, 3, "danger_zone"),  # below the 88% danger limit of scale 2
        (87, True, 3, "danger_zone"),
    ],
)
def test_spo2_boundaries(spo2, scale2, level, rule):
    expect(assess(spo2=spo2, spo2_scale2=scale2), level, rule)


@pytest.mark.parametrize(("spo2", "on_oxygen"), [(92, False), (88, False), (92, True)])
def test_scale_2_at_its_88_to_92_target_is_not_low(spo2, on_oxygen):
    result = assess(spo2=spo2, spo2_scale2=True, on_oxygen=on_oxygen)
    assert result.acuity == 4, shown(result)
    assert not fired(result) & {"spo2_very_low", "spo2_low", "danger_zone"}


def test_spo2_92_on_scale_1_is_not_low():
    result = assess(spo2=92)
    assert result.acuity == 4, shown(result)
    assert not fired(result) & {"spo2_very_low", "spo2_low", "danger_zone"}


# Level 1: respiratory rate


def test_respiratory_rate_8_is_level_1_and_9_is_not():
    expect(assess(respiratory_rate=8), 1, "respiratory_rate_very_low")
    result = assess(respiratory_rate=9)
    assert result.acuity == 4, shown(result)


# Level 1: shock


@pytest.mark.parametrize(
    ("age", "sbp", "level", "rule"),
    [
        (40, 79, 1, "shock"),
        (40, 80, 2, "hypotension"),
        (16, 79, 1, "shock"),  # adult from 16
        (16, 85, 2, "hypotension"),
        (15, 85, 1, "shock"),  # under 16: PALS, over 10 years < 90
        (15, 89, 1, "shock"),
        (12, 89, 1, "shock"),
        (NEONATE, 59, 1, "shock"),  # term neonate < 60
        (0.5, 69, 1, "shock"),  # 1-12 months < 70
        (1, 71, 1, "shock"),  # 1-10 years < 70 + 2 x age
        (4, 77, 1, "shock"),
        (10, 89, 1, "shock"),
    ],
)
def test_shock_by_systolic_and_age(age, sbp, level, rule):
    expect(assess(age=age, systolic_bp=sbp, **LOW_BP), level, rule)


@pytest.mark.parametrize(
    ("age", "sbp"), [(NEONATE, 60), (0.5, 70), (1, 72), (4, 78), (10, 90), (12, 90), (15, 90)]
)
def test_child_at_the_pals_limit_is_not_in_shock(age, sbp):
    result = assess(age=age, systolic_bp=sbp, **LOW_BP)
    assert "shock" not in fired(result), shown(result)
    assert result.acuity == 4, shown(result)


@pytest.mark.parametrize(
    "note",
    [
        "mottled skin",
        "pale and clammy",
        "cold peripheries",
        "prolonged capillary refill",
        "weak thready pulse",
        "pulse oximeter cannot read",
        "unable to obtain SpO2 reading",
        "capillary refill 4 seconds",
        "cap refill > 3 s",
        "oximeter not reading",
    ],
)
def test_systolic_90_with_poor_perfusion_is_shock(note):
    expect(assess(note=note, systolic_bp=90, **LOW_BP), 1, "shock")


def test_systolic_90_with_altered_consciousness_is_shock():
    expect(assess(systolic_bp=90, consciousness="C", **LOW_BP), 1, "shock")


def test_systolic_90_without_perfusion_signs_is_level_2():
    result = assess(systolic_bp=90, **LOW_BP)
    expect(result, 2, "hypotension")
    assert "shock" not in fired(result)


@pytest.mark.parametrize("note", ["capillary refill 2 seconds", "cap refill < 3 s", "CRT 3 s"])
def test_a_capillary_refill_of_3_s_or_less_is_not_poor_perfusion(note):
    result = assess(note=note, systolic_bp=90, **LOW_BP)
    assert "shock" not in fired(result), shown(result)


def test_systolic_91_with_clammy_skin_is_not_shock():
    result = assess(note="pale and clammy", systolic_bp=91, **LOW_BP)
    assert not fired(result) & {"shock", "hypotension"}, shown(result)


# Level 1: unstable heart rate (adults)


@pytest.mark.parametrize(
    ("vitals", "level", "rule"),
    [
        ({"heart_rate": 40, "systolic_bp": 90}, 1, "unstable_heart_rate"),
        ({"heart_rate": 41, "systolic_bp": 90}, 2, "hypotension"),
        ({"heart_rate": 151, "systolic_bp": 90}, 1, "unstable_heart_rate"),
        ({"heart_rate": 150, "systolic_bp": 90}, 2, "heart_rate_extreme"),
        ({"heart_rate": 40, "consciousness": "C"}, 1, "unstable_heart_rate"),
        ({"heart_rate": 151, "consciousness": "V"}, 1, "unstable_heart_rate"),
        ({"heart_rate": 151, "gcs": 14}, 1, "unstable_heart_rate"),
        ({"heart_rate": 40, "systolic_bp": 91}, 2, "heart_rate_extreme"),
        ({"heart_rate": 151, "systolic_bp": 160}, 2, "heart_rate_extreme"),
    ],
)
def test_unstable_heart_rate(vitals, level, rule):
    result = assess(**vitals, **LOW_BP)
    expect(result, level, rule)
    if level > 1:
        assert "unstable_heart_rate" not in fired(result)


def test_unstable_heart_rate_is_for_adults_only():
    # A 10-year-old with HR 151 and systolic 90 is in the danger zone, not the adult rule.
    result = assess(age=10, heart_rate=151, systolic_bp=90, **LOW_BP)
    assert "unstable_heart_rate" not in fired(result)
    expect(result, 3, "danger_zone")


# Level 2 and 3: NEWS2


# Oxygen (2) + SpO2 94 (1) + systolic 105 (1) + HR 50 (1) + temperature 35.5 (1) = 6.
NEWS2_SIX = {"on_oxygen": True, "spo2": 94, "systolic_bp": 105, "heart_rate": 50,
             "temperature_c": 35.5}  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "total", "level"),
    [
        ({"respiratory_rate": 10}, 7, 2),  # + RR 10 (1)
        ({}, 6, 3),
        ({"systolic_bp": 115}, 5, 3),
    ],
)
def test_news2_total_boundaries(extra, total, level):
    result = assess(**{**NEWS2_SIX, **extra})
    assert result.news2.total == total
    assert expect(result, level, "news2").value == total


def test_news2_4_gives_no_news2_reason():
    result = assess(**{**NEWS2_SIX, "systolic_bp": 115, "heart_rate": 60})
    assert result.news2.total == 4
    assert result.acuity == 4, shown(result)


@pytest.mark.parametrize(
    "vitals",
    [{"respiratory_rate": 25}, {"systolic_bp": 220}, {"temperature_c": 35.0}, {"spo2": 91}],
)
def test_single_news2_parameter_scoring_3_is_at_least_level_3(vitals):
    result = assess(**vitals)
    assert result.acuity <= 3, shown(result)
    assert any(r.rule == "news2_single_parameter" and r.acuity == 3 for r in result.reasons)


def test_news2_does_not_apply_under_16_or_in_pregnancy():
    for result in (assess(age=15, **NEWS2_SIX), assess(sex="female", pregnant=True, **NEWS2_SIX)):
        assert not result.news2.applicable
        assert "news2" not in fired(result)


# Level 2 and 3: shock index (adults)


@pytest.mark.parametrize(
    ("hr", "sbp", "level"),
    [(100, 100, 2), (99, 100, 3), (91, 100, 3), (100, 111, 3), (90, 100, 4)],
)
def test_shock_index_boundaries(hr, sbp, level):
    result = assess(heart_rate=hr, systolic_bp=sbp)
    if level == 4:
        assert result.acuity == 4 and "shock_index" not in fired(result), shown(result)
    else:
        expect(result, level, "shock_index")


def test_shock_index_is_for_adults_only():
    result = assess(age=15, heart_rate=100, systolic_bp=100)
    assert "shock_index" not in fired(result)
    assert result.acuity == 4, shown(result)


# Level 2: respiratory rate, systolic, heart rate, temperature (adults)


def test_adult_respiratory_rate_31_is_level_2_and_30_is_level_3():
    expect(assess(respiratory_rate=31), 2, "respiratory_rate_high")
    result = assess(respiratory_rate=30)
    expect(result, 3, "news2_single_parameter")
    assert "respiratory_rate_high" not in fired(result)


def test_respiratory_rate_31_under_16_is_one_danger_zone_sign():
    result = assess(age=14, respiratory_rate=31)
    expect(result, 3, "danger_zone")
    assert "respiratory_rate_high" not in fired(result)


def test_adult_systolic_90_is_level_2_and_91_is_not():
    expect(assess(systolic_bp=90, **LOW_BP), 2, "hypotension")
    result = assess(systolic_bp=91, **LOW_BP)
    assert result.acuity == 4 and "hypotension" not in fired(result), shown(result)


@pytest.mark.parametrize(
    ("hr", "level", "rule"),
    [(40, 2, "heart_rate_extreme"), (131, 2, "heart_rate_extreme"), (130, 3, "danger_zone")],
)
def test_adult_heart_rate_bands(hr, level, rule):
    # Systolic 150 keeps the shock index below 0.9.
    result = assess(heart_rate=hr, systolic_bp=150)
    expect(result, level, rule)


def test_adult_heart_rate_41_is_not_extreme():
    result = assess(heart_rate=41)
    assert result.acuity == 4 and "heart_rate_extreme" not in fired(result), shown(result)


@pytest.mark.parametrize(("temperature", "level"), [(31.9, 2), (32.0, 3), (35.0, 3), (35.1, 4)])
def test_low_temperature_boundaries(temperature, level):
    result = assess(temperature_c=temperature)
    if level == 4:
        assert result.acuity == 4 and "temperature_low" not in fired(result), shown(result)
    else:
        expect(result, level, "temperature_low")


# Danger zone (ESI v5) by age


def test_two_danger_zone_vitals_are_level_2_and_one_is_level_3():
    expect(assess(heart_rate=101, respiratory_rate=21), 2, "danger_zone")
    expect(assess(heart_rate=101), 3, "danger_zone")
    expect(assess(respiratory_rate=21), 3, "danger_zone")


# (age in years, HR limit, RR limit): above the limit is danger; the band's lower edge is in it.
BANDS = [
    (NEONATE, 190, 60),  # under 1 month
    (1 / 12, 180, 55),  # 1-12 months
    (0.99, 180, 55),
    (1.0, 140, 40),  # 1-3 years
    (2.99, 140, 40),
    (3.0, 120, 35),  # 3-5 years
    (4.99, 120, 35),
    (5.0, 120, 30),  # 5-12 years
    (12.0, 120, 30),
    (12.5, 100, 20),  # over 12 years
    (40, 100, 20),
]


@pytest.mark.parametrize(("age", "hr_limit", "rr_limit"), BANDS)
def test_one_danger_zone_vital_at_each_age_band(age, hr_limit, rr_limit):
    for vitals in ({"heart_rate": hr_limit + 1}, {"respiratory_rate": rr_limit + 1}):
        expect(assess(age=age, systolic_bp=150, **vitals), 3, "danger_zone")
    for vitals in ({"heart_rate": hr_limit}, {"respiratory_rate": rr_limit}):
        result = assess(age=age, systolic_bp=150, **vitals)
        assert "danger_zone" not in fired(result), (age, vitals, shown(result))


@pytest.mark.parametrize("age", [NEONATE, 2, 10, 14])
def test_spo2_below_92_is_a_danger_zone_sign_at_any_age(age):
    result = assess(age=age, spo2=91)
    expect(result, 2, "spo2_low")
    assert any(r.rule == "danger_zone" for r in result.reasons)
    assert "danger_zone" not in fired(assess(age=age, spo2=92))


def test_two_danger_zone_vitals_in_a_child():
    expect(assess(age=4, heart_rate=121, respiratory_rate=36), 2, "danger_zone")
