"""Vital signs as nurses write them, with spans; merged under the structured fields."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.nlp.vitals import extract_vitals, merge_vitals
from shared.schemas import Consciousness, VitalSigns
from tests.support.vitals import esi_vignettes


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
        ("GCS 14", {("gcs", 14), ("consciousness", Consciousness.CONFUSION)}),
        ("GCS 15", {("gcs", 15), ("consciousness", Consciousness.ALERT)}),
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


def test_the_more_urgent_value_counts_and_the_conflict_is_reported():
    merged = merge_vitals(VitalSigns(heart_rate=90), "HR 128, RR 24, later RR 28")
    assert merged.vitals.heart_rate == 128  # NEWS2 2 beats the typed 0
    assert merged.sources["heart_rate"] == "note"
    assert merged.vitals.respiratory_rate == 28  # the later measurement
    assert merged.sources["respiratory_rate"] == "note"
    assert [(c.field, c.structured, c.note, c.used) for c in merged.conflicts] == [
        ("heart_rate", 90, 128, "note")
    ]


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
    assert [(c.field, c.structured, c.note, c.used) for c in merged.conflicts] == [
        ("systolic_bp", 100, 140, "structured")  # typed 100 scores 2, the note's 140 scores 0
    ]
    odd = merge_vitals(VitalSigns(), "BP 80/90?")  # diastolic above systolic in the note
    assert odd.vitals.systolic_bp is None and odd.vitals.diastolic_bp is None


def used(note, **typed):
    """The merged vital signs of `typed` fields and a note, as a plain dict."""
    vitals = merge_vitals(VitalSigns(**typed), note).vitals
    return {k: v for k, v in vitals.model_dump().items() if v is not None and k != "spo2_scale2"}


# --- issue 6: values written out, slashes, units, home oxygen ------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sats on room air are 86 percent", {("spo2", 86), ("on_oxygen", False)}),
        ("saturating 88% on RA", {("spo2", 88), ("on_oxygen", False)}),
        ("O2 sat 91 %", {("spo2", 91)}),
        ("SpO2 of 94 percent on 2L", {("spo2", 94), ("on_oxygen", True)}),
        ("pulse ox 89%", {("spo2", 89)}),
        ("displaying a saturation of 79 percent", {("spo2", 79)}),
        ("SpO2, 98% RA", {("spo2", 98), ("on_oxygen", False)}),
        ("O2 98% RA", {("spo2", 98), ("on_oxygen", False)}),
        ("pulse of 130", {("heart_rate", 130)}),
        ("heart rate of 130", {("heart_rate", 130)}),
        ("pulse 130 bpm", {("heart_rate", 130)}),
        ("tachycardic at 130", {("heart_rate", 130)}),
        ("the patient's heart rate is 106", {("heart_rate", 106)}),
        ("P 112", {("heart_rate", 112)}),
        ("RR of 28", {("respiratory_rate", 28)}),
        ("resp 28/min", {("respiratory_rate", 28)}),
        ("R 24", {("respiratory_rate", 24)}),
        ("BP 85/50", {("systolic_bp", 85), ("diastolic_bp", 50)}),
        ("BP: 85 / 50", {("systolic_bp", 85), ("diastolic_bp", 50)}),
        ("BP 70/palp", {("systolic_bp", 70)}),
    ],
)
def test_values_written_out(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("T 97˚F", 36.1),
        ("T.98˚F", 36.7),
        ("T 98.2˚ F", 36.8),
        ("temperature of 99.6°F", 37.6),
        ("97.6 F", 36.4),
        ("36.8C", 36.8),
        ("afebrile, 37.2 °C", 37.2),
        ("temp 101.3", 38.5),  # a bare 101.3 is Fahrenheit
        ("T 38.9", 38.9),
        ("Tmax 39.4", 39.4),
    ],
)
def test_temperature_in_either_unit(text, expected):
    assert found(text) == {("temperature_c", expected)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on her usual 2 L at home", True),
        ("home O2 2L", True),
        ("on 2L", True),
        ("94% on 2 L NC", True),
        ("SpO2 95% on a non- rebreather mask", True),
        ("on RA", False),
        ("room air", False),
    ],
)
def test_home_and_supplemental_oxygen(text, expected):
    assert ("on_oxygen", expected) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "PMH: RA on methotrexate",  # rheumatoid arthritis, not room air
        "on 1L NS",  # fluid
        "no home O2",
        "on CPAP at night for OSA",
        "seen 12/05, sutures out 10/12",  # dates are no blood pressure
        "HR 110/72",  # a pair after another vital's label is no blood pressure
        "stroke alert called",
        "not responding to antibiotics",
        "R 2nd toe",
        "67F c/o SOB",  # a 67-year-old female, not 67 Fahrenheit
    ],
)
def test_more_things_that_are_not_vitals(text):
    assert found(text) == set()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "HR 110 / RR 22 / SpO2 94%",
            {("heart_rate", 110), ("respiratory_rate", 22), ("spo2", 94)},
        ),
        (
            "RR 22 / SpO2 94% / HR 110 / BP 100/60",
            {
                ("respiratory_rate", 22),
                ("spo2", 94),
                ("heart_rate", 110),
                ("systolic_bp", 100),
                ("diastolic_bp", 60),
            },
        ),
        ("118/72, 84, afebrile", {("systolic_bp", 118), ("diastolic_bp", 72)}),
        (
            "VS: BP 118/72, HR 76, RR 14, T 97˚F",
            {
                ("systolic_bp", 118),
                ("diastolic_bp", 72),
                ("heart_rate", 76),
                ("respiratory_rate", 14),
                ("temperature_c", 36.1),
            },
        ),
        (
            "VS 120/80 88 18 98%",
            {
                ("systolic_bp", 120),
                ("diastolic_bp", 80),
                ("heart_rate", 88),
                ("respiratory_rate", 18),
                ("spo2", 98),
            },
        ),
        (
            "VS 90/50, 124, 28, 91%, 38.9",
            {
                ("systolic_bp", 90),
                ("diastolic_bp", 50),
                ("heart_rate", 124),
                ("respiratory_rate", 28),
                ("spo2", 91),
                ("temperature_c", 38.9),
            },
        ),
    ],
)
def test_slashes_separate_vitals_and_a_pair_alone_is_a_blood_pressure(text, expected):
    assert found(text) == expected


def test_positional_spans_point_at_each_number():
    text = "VS 120/80 88 18 98%"
    plausible, _ = extract_vitals(text)
    assert {f.field: text[f.start : f.end] for f in plausible} == {
        "systolic_bp": "120",
        "diastolic_bp": "80",
        "heart_rate": "88",
        "respiratory_rate": "18",
        "spo2": "98",
    }


# The ESI v4 handbook vignettes (../shared/data): a distinctive phrase of the vignette, and
# every vital sign it gives. "Within normal limits" gives no values.
ESI_EXPECTED = [
    (
        "ran out of my blood pressure medicine",
        {
            "systolic_bp": 128,
            "diastolic_bp": 84,
            "heart_rate": 76,
            "respiratory_rate": 16,
            "temperature_c": 36.1,
        },
    ),
    (
        "shortness of breath for several hours",
        {
            "respiratory_rate": 32,
            "heart_rate": 96,
            "systolic_bp": 126,
            "diastolic_bp": 80,
            "spo2": 93,
            "on_oxygen": False,
            "temperature_c": 37.0,
        },
    ),
    (
        "cracked, and now I have a fever",
        {
            "temperature_c": 39.3,
            "heart_rate": 90,
            "respiratory_rate": 18,
            "systolic_bp": 108,
            "diastolic_bp": 60,
            "pain": 5,
        },
    ),
    (
        "a fever of 103",
        {  # the fever at home yields to the temperature measured later
            "temperature_c": 38.7,
            "heart_rate": 92,
            "respiratory_rate": 24,
            "systolic_bp": 148,
            "diastolic_bp": 86,
            "spo2": 97,
        },
    ),
    ("Pain 10+/10", {"pain": 10}),
    (
        "previous ectopic pregnancy",
        {
            "temperature_c": 36.7,
            "heart_rate": 66,
            "respiratory_rate": 14,
            "systolic_bp": 106,
            "diastolic_bp": 68,
            "pain": 6,
        },
    ),
    ("does not respond to voice", {"consciousness": Consciousness.PAIN}),
    (
        "rates it as",
        {
            "systolic_bp": 110,
            "diastolic_bp": 80,
            "heart_rate": 72,
            "respiratory_rate": 18,
            "spo2": 99,
            "temperature_c": 37.0,
            "pain": 1,
        },
    ),
    (
        "clots the size of oranges",
        {
            "systolic_bp": 86,
            "diastolic_bp": 40,
            "heart_rate": 132,
            "respiratory_rate": 22,
            "spo2": 98,
        },
    ),
    (
        "pressure in my chest that started about an hour ago",
        {
            "systolic_bp": 86,
            "diastolic_bp": 50,
            "heart_rate": 52,
            "pain": 10,
        },
    ),
    ("third-degree  heart block", {"consciousness": Consciousness.ALERT}),
    (
        "someone is ripping me apart",
        {
            "heart_rate": 122,
            "systolic_bp": 88,
            "diastolic_bp": 68,
            "respiratory_rate": 24,
            "spo2": 94,
            "pain": 10,
        },
    ),
    (
        "HR 990",
        {  # a typo is reported, not used
            "temperature_c": 39.0,
            "respiratory_rate": 20,
            "systolic_bp": 122,
            "diastolic_bp": 80,
            "spo2": 98,
            "pain": 6,
        },
    ),
    (
        "he has been shot",
        {
            "temperature_c": 36.8,
            "heart_rate": 78,
            "respiratory_rate": 16,
            "systolic_bp": 118,
            "diastolic_bp": 80,
            "consciousness": Consciousness.ALERT,
        },
    ),
    (
        "wife of 56 years",
        {
            "systolic_bp": 136,
            "diastolic_bp": 82,
            "heart_rate": 74,
            "respiratory_rate": 18,
            "spo2": 98,
            "on_oxygen": False,
        },
    ),
    (
        "just not acting herself",
        {
            "temperature_c": 38.2,
            "heart_rate": 98,
            "respiratory_rate": 22,
            "systolic_bp": 122,
            "diastolic_bp": 80,
            "consciousness": Consciousness.VOICE,
        },
    ),
    ("Glasgow Coma Scale score of 14", {"gcs": 14, "consciousness": Consciousness.CONFUSION}),
    ("saturation of 79 percent", {"spo2": 79}),
    ("usually unresponsive", {}),  # the nursing-home resident's usual state
    (
        ", P 126",
        {"systolic_bp": 148, "diastolic_bp": 70, "heart_rate": 126, "respiratory_rate": 24},
    ),
    ("BP 70/palp", {"systolic_bp": 70, "heart_rate": 128, "respiratory_rate": 40}),
    (
        "increasingly confused over the last 24 hours",
        {
            "temperature_c": 37.6,
            "heart_rate": 86,
            "respiratory_rate": 28,
            "systolic_bp": 136,
            "diastolic_bp": 72,
            "spo2": 94,
            "on_oxygen": False,
            "consciousness": Consciousness.CONFUSION,
        },
    ),
    (
        "Code STEMI",
        {
            "heart_rate": 106,
            "respiratory_rate": 28,
            "systolic_bp": 72,
            "diastolic_bp": 53,
            "spo2": 95,
            "on_oxygen": True,
        },
    ),
    (
        "BP 78/palp",
        {
            "systolic_bp": 78,
            "heart_rate": 148,
            "respiratory_rate": 36,
            "spo2": 96,
            "on_oxygen": True,
        },
    ),
    ("eight 75 mg tabs", {"consciousness": Consciousness.ALERT}),
    (
        "public intoxication",
        {
            "systolic_bp": 172,
            "diastolic_bp": 124,
            "heart_rate": 122,
            "respiratory_rate": 18,
            "temperature_c": 37.0,
            "spo2": 97,
            "pain": 0,
        },
    ),
]


@pytest.mark.parametrize(("phrase", "expected"), ESI_EXPECTED, ids=[p for p, _ in ESI_EXPECTED])
def test_esi_handbook_vital_signs(phrase, expected):
    vignettes = esi_vignettes()
    if not vignettes:
        pytest.skip("../shared/data/esi_v4_handbook_train.csv is not beside the repo")
    (vignette,) = [v for v in vignettes if phrase in v]
    assert used(vignette) == expected


# --- consciousness -------------------------------------------------------------------------

A, C, V, P, U = (Consciousness(x) for x in "ACVPU")


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("pt alert, talking in full sentences", A),
        ("awake and alert", A),
        ("A&Ox3", A),
        ("alert and oriented", A),
        ("responds only to pain", P),
        ("responsive to painful stimuli", P),
        ("withdraws to pain", P),
        ("moaning and does not respond to voice", P),
        ("responds to voice", V),
        ("rousable to voice", V),
        ("unresponsive", U),
        ("unconscious on the floor", U),
        ("not responding", U),
        ("change in mental status", C),
        ("altered mental status", C),
        ("AMS", C),
        ("disoriented to time and place", C),
        ("altered mentation", C),
        ("confused", C),
        ("acting confused", C),
        ("new confusion", C),
        ("hx dementia, acutely confused since this morning", C),
        ("more confused than baseline per daughter", C),
        ("confused, not at her baseline", C),
        ("alert but confused", C),  # the more urgent current state
        ("responds to verbal stimuli but is disoriented", V),
        ("confused on arrival, now A&Ox3", A),  # a later state beats an earlier one
        ("found unresponsive, now alert", A),
        ("She is usually awake and alert. Today confused.", C),
    ],
)
def test_consciousness_words(text, level):
    assert used(text)["consciousness"] == level


@pytest.mark.parametrize(
    "text",
    [
        "not confused",
        "no confusion",
        "denies confusion",
        "hx of confusion",
        "return if confused",
        "his wife is confused",
    ],
)
def test_consciousness_not_asserted_for_this_patient_now(text):
    assert "consciousness" not in used(text)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("confused as usual", "confused"),
        ("confused, at baseline", "confused"),
        ("baseline dementia, confused", "confused"),
        ("pleasantly confused, per family this is her baseline", "confused"),
        ("chronic confusion", "confusion"),
        ("The patient is usually unresponsive.", "unresponsive"),
    ],
)
def test_baseline_confusion_is_reported_not_scored(text, words):
    merged = merge_vitals(VitalSigns(), text)
    assert merged.vitals.consciousness is None
    assert [text[f.start : f.end] for f in merged.baseline] == [words]


@pytest.mark.parametrize(
    ("text", "gcs", "level"),
    [
        ("GCS 14", 14, C),
        ("GCS of 8", 8, C),
        ("GCS: 3", 3, C),
        ("E2V2M4", 8, C),
        ("GCS 15 (E4 V5 M6)", 15, A),
        ("GCS 9/15", 9, C),
    ],
)
def test_gcs(text, gcs, level):
    assert (used(text)["gcs"], used(text)["consciousness"]) == (gcs, level)


def test_an_impossible_gcs_is_reported():
    _, implausible = extract_vitals("GCS 17")
    assert ("gcs", 17) in {(f.field, f.value) for f in implausible}


@pytest.mark.parametrize(
    ("text", "pain"),
    [
        ("pain 8/10", 8),
        ("8/10 pain", 8),
        ("pain score 7", 7),
        ("rates pain 9 out of 10", 9),
        ("pain 6 of 10", 6),
        ("low abdominal pain (6/10) for 4 days", 6),
        ("rates the intensity as 20/10", 10),  # the top of the scale, said loudly
        ("Pain 0/10", 0),
    ],
)
def test_pain_scores(text, pain):
    assert used(text) == {"pain": pain}


def test_a_fraction_without_pain_is_not_a_pain_score():
    assert found("seen 5/10 by GP") == set()


# --- several values in one note ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HR 150 on arrival, now 88", {"heart_rate": 88}),
        ("HR 150, then 120, now 96", {"heart_rate": 96}),
        ("initial BP 80/40, repeat 110/70", {"systolic_bp": 110, "diastolic_bp": 70}),
        ("BP 110/70 at triage; BP 80/40 on arrival", {"systolic_bp": 110, "diastolic_bp": 70}),
        ("BP 110/70. Initial BP 80/40 per EMS.", {"systolic_bp": 110, "diastolic_bp": 70}),
        ("T 39.5 earlier, now 38.2", {"temperature_c": 38.2}),
        ("RR 24, RR 28", {"respiratory_rate": 28}),  # otherwise the last mention counts
        ("sats 88% on RA at home, now 95% on 2L", {"spo2": 95, "on_oxygen": True}),
    ],
)
def test_an_explicitly_earlier_value_yields_to_a_later_one(text, expected):
    assert used(text) == expected


def test_the_value_that_counted_is_named():
    merged = merge_vitals(VitalSigns(), "HR 150 on arrival, now 88")
    chosen = merged.chosen["heart_rate"]
    assert (chosen.value, chosen.timing) == (88, "later")
    assert {(f.value, f.timing) for f in merged.findings} == {(150, "earlier"), (88, "later")}


# --- conflicts between the note and the typed fields ---------------------------------------


@pytest.mark.parametrize(
    ("typed", "note", "field", "value", "source"),
    [
        ({"heart_rate": 80}, "HR 150", "heart_rate", 150, "note"),
        ({"heart_rate": 150}, "HR 80", "heart_rate", 150, "structured"),
        ({"heart_rate": 75}, "HR 88", "heart_rate", 88, "note"),  # both 0: further from normal
        ({"heart_rate": 60}, "HR 80", "heart_rate", 60, "structured"),  # a tie: typed stays
        ({"respiratory_rate": 18}, "RR 9", "respiratory_rate", 9, "note"),
        ({"spo2": 97}, "sats 91%", "spo2", 91, "note"),
        ({"temperature_c": 37.0}, "T 39.5", "temperature_c", 39.5, "note"),
        ({"temperature_c": 34.5}, "T 38.5", "temperature_c", 34.5, "structured"),
        ({"consciousness": "A"}, "confused", "consciousness", C, "note"),
        ({"consciousness": "V"}, "confused", "consciousness", V, "structured"),
        ({"on_oxygen": False}, "on 2L NC", "on_oxygen", True, "note"),
        ({"pain": 3}, "pain 8/10", "pain", 8, "note"),
        ({"gcs": 15}, "GCS 12", "gcs", 12, "note"),
        # scale 2 on oxygen: 97% scores 3, the target 90% scores 0
        ({"spo2": 90, "spo2_scale2": True, "on_oxygen": True}, "sats 97%", "spo2", 97, "note"),
        ({"spo2": 97, "spo2_scale2": False}, "sats 90%", "spo2", 90, "note"),
    ],
)
def test_the_more_urgent_of_two_disagreeing_values_counts(typed, note, field, value, source):
    merged = merge_vitals(VitalSigns(**typed), note)
    assert getattr(merged.vitals, field) == value
    (conflict,) = [c for c in merged.conflicts if c.field == field]
    assert conflict.used == source
    assert conflict.structured == VitalSigns(**typed).model_dump()[field]
    assert getattr(conflict, source) == value
    assert note[conflict.start : conflict.end]  # the span points into the note


@pytest.mark.parametrize(
    ("typed", "note", "pair", "source"),
    [
        ((120, 80), "BP 85/50", (85, 50), "note"),
        ((85, 50), "BP 120/80", (85, 50), "structured"),
        ((130, 85), "BP 135/125", (135, 125), "note"),  # systolic ties; diastolic 125 decides
        ((100, None), "BP 140/110", (100, None), "structured"),
        ((120, 70), "BP 86/palp", (86, None), "note"),  # one reading: no typed diastolic added
    ],
)
def test_blood_pressure_conflicts_keep_one_reading(typed, note, pair, source):
    merged = merge_vitals(VitalSigns(systolic_bp=typed[0], diastolic_bp=typed[1]), note)
    assert (merged.vitals.systolic_bp, merged.vitals.diastolic_bp) == pair
    assert {c.used for c in merged.conflicts} == {source}


def test_a_matching_systolic_brings_its_diastolic():
    merged = merge_vitals(VitalSigns(systolic_bp=120), "BP 120/80")
    assert (merged.vitals.diastolic_bp, merged.sources["diastolic_bp"]) == (80, "note")
    assert merged.conflicts == []


def test_conflicts_convert_to_the_schema():
    merged = merge_vitals(VitalSigns(consciousness="A"), "pt confused")
    (conflict,) = merged.conflicts
    schema = conflict.as_schema()
    assert (schema.field, schema.structured, schema.note, schema.used) == (
        "consciousness",
        "A",
        "C",
        "note",
    )


def test_documented_fields_come_from_either_source():
    merged = merge_vitals(VitalSigns(heart_rate=80), "RR 20, sats 97% on RA, HR 999")
    assert merged.documented == {"heart_rate", "respiratory_rate", "spo2", "on_oxygen"}
    assert merge_vitals(VitalSigns(), "Vital signs within normal limits.").documented == set()


def test_the_local_news2_bands_are_the_clinical_ones():
    from shared.clinical import news2
    from shared.nlp import vitals

    assert vitals._BANDS == {
        "respiratory_rate": news2.RESPIRATORY_RATE,
        "heart_rate": news2.HEART_RATE,
        "systolic_bp": news2.SYSTOLIC_BP,
        "temperature_c": news2.TEMPERATURE,
    }
    assert vitals._SPO2_SCALE1 == news2.SPO2_SCALE1
    assert vitals._SPO2_SCALE2_AIR == news2.SPO2_SCALE2_AIR
    assert vitals._SPO2_SCALE2_OXYGEN == news2.SPO2_SCALE2_OXYGEN


_PHRASES = st.sampled_from(
    [
        "BP 85/50",
        "BP 140/110",
        "120/80",
        "HR 150",
        "now 88",
        "on arrival",
        "RR 28",
        "sats 90%",
        "on 2L",
        "on RA",
        "T 39.5",
        "confused",
        "alert",
        "as usual",
        "GCS 9",
        "pain 8/10",
        "BP 70/palp",
        " / ",
        ", ",
        ". ",
        "initial",
        "repeat",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        VitalSigns,
        heart_rate=st.none() | st.integers(10, 300),
        systolic_bp=st.none() | st.integers(30, 300),
        spo2=st.none() | st.integers(30, 100),
        spo2_scale2=st.booleans(),
        on_oxygen=st.none() | st.booleans(),
        consciousness=st.none() | st.sampled_from(list(Consciousness)),
        gcs=st.none() | st.integers(3, 15),
    ),
    st.lists(_PHRASES, max_size=12).map(" ".join),
)
def test_the_merge_never_fails_and_every_conflict_names_the_value_used(typed, note):
    merged = merge_vitals(typed, note)
    values = merged.vitals.model_dump()
    for conflict in merged.conflicts:
        assert values[conflict.field] == getattr(conflict, conflict.used)
    typed_fields = {k for k, v in typed.model_dump().items() if v is not None}
    assert merged.documented >= typed_fields - {"spo2_scale2"}


def test_a_gcs_on_arrival_yields_to_a_later_state():
    assert used("GCS 14 on arrival, now alert and oriented")["consciousness"] == A


# Re-triage: the typed fields are the values measured now; the note before the latest
# "Re-triage:" line was written earlier.
def test_a_retriage_measurement_outranks_the_intake_note():
    note = "HR 150, BP 85/50, sats 88%\nRe-triage: feels better after fluids"
    merged = merge_vitals(VitalSigns(heart_rate=88, systolic_bp=122, diastolic_bp=76), note)
    v = merged.vitals
    assert (v.heart_rate, v.systolic_bp, v.diastolic_bp) == (88, 122, 76)
    assert merged.conflicts == []
    assert v.spo2 == 88  # not re-measured: the last known value still counts, as a floor


def test_an_empty_retriage_line_still_marks_the_new_measurement():
    merged = merge_vitals(VitalSigns(heart_rate=88), "HR 150\nRe-triage:")
    assert merged.vitals.heart_rate == 88 and merged.conflicts == []


def test_a_value_in_the_latest_retriage_line_is_as_current_as_the_fields():
    merged = merge_vitals(VitalSigns(heart_rate=88), "HR 150\nRe-triage: HR 140 on recheck")
    assert merged.vitals.heart_rate == 140
    assert [(c.field, c.structured, c.note) for c in merged.conflicts] == [("heart_rate", 88, 140)]


def test_without_a_retriage_line_the_more_urgent_value_still_counts():
    merged = merge_vitals(VitalSigns(heart_rate=88), "HR 150 at triage")
    assert merged.vitals.heart_rate == 150 and merged.conflicts
