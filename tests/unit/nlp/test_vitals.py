"""Vital signs as nurses write them, with spans; merged under the structured fields."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.nlp.vitals import extract_vitals, merge_vitals
from shared.schemas import Consciousness, VitalSigns


def found(text):
    plausible, _ = extract_vitals(text)
    return {(f.field, f.value) for f in plausible}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BP 88/50", {("systolic_bp", 88), ("diastolic_bp", 50)}),
        ("blood pressure of 142 / 91", {("systolic_bp", 142), ("diastolic_bp", 91)}),
        ("HR 128", {("heart_rate", 128)}),
        ("P 128", {("heart_rate", 128)}),
        ("pulse 64 regular", {("heart_rate", 64)}),
        ("sats 91% on RA", {("spo2", 91), ("on_oxygen", False)}),
        ("SpO2 94% 2L NC", {("spo2", 94), ("on_oxygen", True)}),
        ("on 4L O2", {("on_oxygen", True)}),
        ("saturating 97% on room air", {("spo2", 97), ("on_oxygen", False)}),
        ("RR 24", {("respiratory_rate", 24)}),
        ("resp rate: 30", {("respiratory_rate", 30)}),
        ("T 38.9", {("temperature_c", 38.9)}),
        ("temp 101.3F", {("temperature_c", 38.5)}),
        ("Temp 99.5 F", {("temperature_c", 37.5)}),
        ("temperature 36.4C", {("temperature_c", 36.4)}),
        ("GCS 14", {("consciousness", Consciousness.CONFUSION)}),
        ("GCS 15", {("consciousness", Consciousness.ALERT)}),
        ("pt confused", {("consciousness", Consciousness.CONFUSION)}),
        ("alert and oriented", {("consciousness", Consciousness.ALERT)}),
        ("A&Ox3", {("consciousness", Consciousness.ALERT)}),
        ("A & O x 4", {("consciousness", Consciousness.ALERT)}),
        ("responds to voice", {("consciousness", Consciousness.VOICE)}),
        ("responds only to pain", {("consciousness", Consciousness.PAIN)}),
        ("found unresponsive", {("consciousness", Consciousness.UNRESPONSIVE)}),
        ("pain 7/10", {("pain", 7)}),
    ],
)
def test_each_way_nurses_write_vitals(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "given 1 L NS bolus",  # fluid, not oxygen
        "not confused, no new confusion",
        "Type 2 DM, PMH HTN",
        "BP cuff applied",
        "",
    ],
)
def test_things_that_are_not_vitals(text):
    assert found(text) == set()


def test_spans_point_at_the_value():
    text = "67F c/o SOB. BP 88/50, HR 128, sats 91% on RA, temp 101.3F, confused."
    plausible, _ = extract_vitals(text)
    by_field = {f.field: f for f in plausible}
    assert text[by_field["systolic_bp"].start : by_field["systolic_bp"].end] == "88"
    assert text[by_field["diastolic_bp"].start : by_field["diastolic_bp"].end] == "50"
    assert text[by_field["heart_rate"].start : by_field["heart_rate"].end] == "128"
    assert text[by_field["spo2"].start : by_field["spo2"].end] == "91"
    assert text[by_field["temperature_c"].start : by_field["temperature_c"].end] == "101.3"
    assert text[by_field["on_oxygen"].start : by_field["on_oxygen"].end] == "on RA"
    assert text[by_field["consciousness"].start : by_field["consciousness"].end] == "confused"


def test_impossible_values_are_reported_not_used():
    plausible, implausible = extract_vitals("HR 999, sats 120%")
    assert plausible == []
    assert {(f.field, f.value) for f in implausible} == {("heart_rate", 999), ("spo2", 120)}


def test_structured_wins_and_a_conflict_is_reported():
    merged = merge_vitals(VitalSigns(heart_rate=90), "HR 128, RR 24, later RR 28")
    assert merged.vitals.heart_rate == 90
    assert merged.sources["heart_rate"] == "structured"
    assert merged.vitals.respiratory_rate == 28  # the later measurement
    assert merged.sources["respiratory_rate"] == "note"
    assert [(c.field, c.structured, c.note) for c in merged.conflicts] == [("heart_rate", 90, 128)]


def test_agreeing_values_are_not_conflicts():
    merged = merge_vitals(VitalSigns(temperature_c=38.5, spo2=91), "temp 101.3F, sats 91%")
    assert merged.conflicts == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_any_text_is_handled(text):
    plausible, implausible = extract_vitals(text)
    for finding in plausible + implausible:
        assert 0 <= finding.start <= finding.end <= len(text)
    merge_vitals(VitalSigns(), text)


def test_a_megabyte_of_junk_is_handled():
    junk = bytes(range(256)).decode("latin-1") * 4096 + "BP 120/80 " * 100
    plausible, _ = extract_vitals(junk)
    assert ("systolic_bp", 120) in {(f.field, f.value) for f in plausible}


def test_blood_pressure_is_taken_as_a_pair_and_the_merge_never_fails():
    merged = merge_vitals(VitalSigns(systolic_bp=100), "BP 140/110 at GP")
    assert (merged.vitals.systolic_bp, merged.vitals.diastolic_bp) == (100, None)
    assert [(c.field, c.structured, c.note) for c in merged.conflicts] == [
        ("systolic_bp", 100, 140)
    ]
    odd = merge_vitals(VitalSigns(), "BP 80/90?")  # diastolic above systolic in the note
    assert odd.vitals.systolic_bp is None and odd.vitals.diastolic_bp is None
