"""The FHIR builders on their own: codes checked digit by digit, what is absent said so, NEWS2
where it does not apply, values read from the note marked, and every resource round-trips."""

from __future__ import annotations

import datetime as dt

import pytest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.reference import Reference

from shared.clinical.news2 import score_news2
from shared.interop.fhir_vitals import (
    FROM_NOTE,
    NEWS2_PARTS,
    NEWS2_TOTAL,
    news2_observation,
    vital_observations,
)
from shared.schemas import VitalSigns

AT = dt.datetime(2026, 11, 30, 8, 15, tzinfo=dt.UTC)
SUBJECT = Reference(type="Patient", display="test")

# Verhoeff, the check digit every SNOMED CT identifier ends with: a mistyped code fails.
VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6], [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]  # fmt: skip
VERHOEFF_P = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4]]
for _ in range(6):
    VERHOEFF_P.append([VERHOEFF_P[1][d] for d in VERHOEFF_P[-1]])


def verhoeff_ok(code: str) -> bool:
    check = 0
    for i, digit in enumerate(reversed(code)):
        check = VERHOEFF_D[check][VERHOEFF_P[i % 8][int(digit)]]
    return check == 0


def roundtrip(resource: Observation) -> Observation:
    return Observation.model_validate_json(resource.model_dump_json(exclude_none=True))


@pytest.mark.parametrize("code", [NEWS2_TOTAL[0], *(c for c, _ in NEWS2_PARTS.values())])
def test_every_snomed_code_has_a_valid_check_digit(code):
    assert verhoeff_ok(code)
    assert not verhoeff_ok(code[:-1] + str((int(code[-1]) + 1) % 10))


def test_vital_signs_carry_profile_loinc_ucum_and_say_what_came_from_the_note():
    vitals = VitalSigns(heart_rate=88, spo2=94, systolic_bp=132, temperature_c=37.26)
    made = vital_observations("intake", vitals, {"spo2": "note"}, SUBJECT, AT)
    by_key = {m.key: roundtrip(m.resource) for m in made}
    assert set(by_key) == {
        "intake/heart_rate", "intake/spo2", "intake/temperature_c", "intake/blood_pressure",
    }  # fmt: skip
    spo2 = by_key["intake/spo2"]
    assert [n.text for n in spo2.note] == [FROM_NOTE]
    # Read from free text, not entered: preliminary; a typed field is final.
    assert spo2.status == "preliminary"
    assert by_key["intake/heart_rate"].note is None
    assert by_key["intake/heart_rate"].status == "final"
    assert by_key["intake/blood_pressure"].status == "final"
    assert str(by_key["intake/temperature_c"].valueQuantity.value) == "37.3"
    bp = by_key["intake/blood_pressure"]
    assert bp.valueQuantity is None  # the panel holds its values in components
    systolic, diastolic = bp.component
    assert systolic.valueQuantity.value == 132 and diastolic.valueQuantity is None
    assert diastolic.dataAbsentReason.coding[0].code == "unknown"


def test_news2_components_use_scale_2_when_prescribed_and_missing_parts_are_absent():
    vitals = VitalSigns(respiratory_rate=22, spo2=90, spo2_scale2=True, on_oxygen=False)
    news2 = score_news2(vitals, age_years=70, pregnant=False)
    made = roundtrip(news2_observation(news2, True, SUBJECT, AT, []))
    codes = {c.code.coding[0].code: c for c in made.component}
    assert NEWS2_PARTS["spo2_scale2"][0] in codes and NEWS2_PARTS["spo2"][0] not in codes
    absent = [c for c in made.component if c.dataAbsentReason is not None]
    assert len(absent) == len(news2.missing) == 4


def test_a_partial_news2_is_a_preliminary_minimum_never_a_final_integer_score():
    vitals = VitalSigns(respiratory_rate=22, spo2=90, spo2_scale2=True, on_oxygen=False)
    news2 = score_news2(vitals, age_years=70, pregnant=False)
    assert news2.is_floor and news2.total
    made = roundtrip(news2_observation(news2, True, SUBJECT, AT, []))
    assert made.status == "preliminary"
    # Not an integer a receiving system would chart as the score: a Quantity whose comparator
    # (a FHIR modifier element) says it is a minimum.
    assert made.valueInteger is None and made.dataAbsentReason is None
    value = made.valueQuantity
    assert (value.value, value.comparator, value.code) == (news2.total, ">=", "{score}")
    (said,) = made.interpretation
    assert said.text.startswith("Minimum NEWS2, not the score: 4 of 7 parameters")
    assert any(n.text == said.text for n in made.note)


def test_a_complete_news2_is_final_unless_derived_from_values_read_from_the_note():
    vitals = VitalSigns(respiratory_rate=18, spo2=97, on_oxygen=False, systolic_bp=128,
                        heart_rate=80, consciousness="A", temperature_c=37.0)  # fmt: skip
    news2 = score_news2(vitals, age_years=40, pregnant=False)
    assert not news2.is_floor
    made = roundtrip(news2_observation(news2, False, SUBJECT, AT, []))
    assert made.status == "final" and made.valueInteger == news2.total
    assert made.valueQuantity is None and made.interpretation is None
    read = roundtrip(news2_observation(news2, False, SUBJECT, AT, [], inputs_preliminary=True))
    assert read.status == "preliminary" and read.valueInteger == news2.total


def test_news2_not_applicable_to_a_child_has_no_total_and_says_why():
    news2 = score_news2(VitalSigns(heart_rate=150), age_years=6, pregnant=False)
    made = roundtrip(news2_observation(news2, False, SUBJECT, AT, []))
    assert made.valueInteger is None and made.component is None
    assert made.dataAbsentReason.coding[0].code == "not-applicable"
    assert "16" in made.note[0].text
