"""Vital signs as triage notes write them, beyond "HR 112": a systolic alone, decades ("SBP
70s", "sats high 80s"), temperature-first positional vitals, and glucose meter readings."""

from __future__ import annotations

import pytest

from shared.nlp.vitals import merge_vitals
from shared.schemas import VitalSigns
from tests.unit.clinical.cases import assess, expect, fired, shown


def read(note: str) -> VitalSigns:
    return merge_vitals(VitalSigns(), note).vitals


def test_a_systolic_written_alone_is_read_and_never_crashes_the_engine():
    # "SBP 88" raised IndexError inside the engine (the systolic label has no diastolic).
    assert read("SBP 88").systolic_bp == 88
    assert read("systolic 85, pale").systolic_bp == 85
    assert read("systolic blood pressure 150").systolic_bp == 150
    assert assess("review", "SBP 88", age=50).acuity == 2


@pytest.mark.parametrize(
    ("note", "field", "value"),
    [
        ("SBP 70s", "systolic_bp", 70),
        ("sbp 70s, pale", "systolic_bp", 70),
        ("BP 70s/40s", "systolic_bp", 70),
        ("BP in the 80s systolic", "systolic_bp", 80),
        ("sats high 80s on RA", "spo2", 80),
        ("HR 140s irregular", "heart_rate", 140),
    ],
)
def test_a_decade_is_read_at_its_lower_end(note, field, value):
    assert getattr(read(note), field) == value


@pytest.mark.parametrize(
    "note",
    [
        "vitals 36.4 / 88 / 18 / 124/76 / 98% RA",
        "VS 36.4 88 18 124/76 98%",
        "VS: 97.5-88-18-124/76-98%",  # Fahrenheit: 36.4 C
    ],
)
def test_temperature_first_positional_vitals(note):
    v = read(note)
    assert (v.heart_rate, v.respiratory_rate, v.systolic_bp, v.diastolic_bp, v.spo2) == (
        88, 18, 124, 76, 98,
    )  # fmt: skip
    assert v.temperature_c == 36.4


def test_temperature_first_septic_vitals_reach_the_rules():
    result = assess("fever", "VS 39.2C 128 28 86/50 91%", age=70)
    assert result.acuity <= 2, shown(result)


@pytest.mark.parametrize(
    "note", ["FSBG 45", "fingerstick glucose 38", "BGL 1.8", "BS 450", "glucose 19 mmol/L"]
)
def test_a_glucose_needing_treatment_expects_two_resources(note):
    expect(assess("review", note, age=50), 3, "expected_resources")


def test_a_high_glucose_in_mg_dl_with_vomiting_is_possible_ketoacidosis():
    expect(assess("review", "BS 450, vomiting", age=30), 2, "glucose")


@pytest.mark.parametrize("note", ["BS clear bilaterally", "BGL 6.1", "bowel sounds present"])
def test_normal_or_other_readings_add_nothing(note):
    assert "expected_resources" not in fired(assess("review", note, age=50))
