"""Red flags count only when asserted for this patient now."""

from __future__ import annotations

import pytest

from shared.nlp.redflags import find_red_flags


def asserted(text):
    return {m.flag for m in find_red_flags(text) if m.asserted}


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("58M c/o crushing chest pain radiating to L arm.", "acs_chest_pain"),
        ("CP x 1h, diaphoretic.", "acs_chest_pain"),
        ("Sudden L facial droop and slurred speech at 14:10.", "stroke_signs"),
        ("Lip and tongue swelling after peanuts, anaphylaxis suspected.", "anaphylaxis"),
        ("Tripoding, unable to speak in full sentences.", "respiratory_distress"),
        ("Family reports altered mental status since this morning.", "altered_mental_status"),
        ("Actively seizing on arrival.", "active_seizure"),
        ("Vomiting blood x3 today.", "major_haemorrhage"),
        ("Pt endorses SI with a plan.", "suicidal_homicidal"),
        ("Concern for urosepsis.", "suspected_sepsis"),
    ],
)
def test_asserted_red_flags(text, flag):
    assert flag in asserted(text)


@pytest.mark.parametrize(
    "text",
    [
        "Denies chest pain or SOB.",  # negated
        "Hx of CVA in 2019, no new deficits.",  # historical
        "Return if chest pain or slurred speech.",  # hypothetical
        "Mother had a stroke at 60.",  # someone else
        "Denies SI/HI.",
        "Normal sinus rhythm; his CPAP at night.",  # abbreviations inside other words
    ],
)
def test_red_flags_that_do_not_count(text):
    assert asserted(text) == set()


def test_each_mention_keeps_its_span_and_the_reason_it_does_not_count():
    text = "Denies chest pain. Mother had a stroke."
    mentions = find_red_flags(text)
    assert [(text[m.start : m.end], m.asserted) for m in mentions] == [
        ("chest pain", False),
        ("stroke", False),
    ]
    assert mentions[0].context.negated_by == "Denies"
    assert mentions[1].context.family_by == "Mother"
