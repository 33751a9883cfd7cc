"""The engine on the whole case: red flags in the text, vitals from the note, scores."""

from __future__ import annotations

import pytest

from shared.clinical.engine import assess_case
from shared.schemas import CaseIn
from tests.support.vitals import NORMAL


def case(note="", complaint="review", **vitals):
    return CaseIn(age_years=58, chief_complaint=complaint, note=note, vitals={**NORMAL, **vitals})


def test_asserted_red_flag_in_the_note_makes_the_case_high_with_its_span():
    note = "58M c/o crushing chest pain radiating to L arm."
    result = assess_case(case(note))
    assert result.risk_level.value == "high"
    reason = result.reasons[0]
    assert reason.rule == "red_flag_acs_chest_pain" and reason.source == "note"
    assert note[reason.start : reason.end] == reason.evidence == "crushing chest pain"


def test_negated_red_flag_leaves_normal_vitals_low():
    assert assess_case(case("Denies chest pain, SOB or syncope.")).risk_level.value == "low"


def test_red_flag_in_the_chief_complaint():
    result = assess_case(case(complaint="chest pain"))
    assert result.risk_level.value == "high"
    assert result.reasons[0].source == "chief_complaint"


def test_vitals_from_the_note_fill_gaps_and_structured_values_win():
    note = "BP 88/50, HR 128, RR 26, sats 89% on RA, temp 101.3F, A&Ox3"
    result = assess_case(CaseIn(age_years=40, chief_complaint="weak", note=note,
                                vitals={"heart_rate": 90}))  # fmt: skip
    assert result.risk_level.value == "high"  # NEWS2 from the note's values
    by_field = {v.field: v for v in result.note_vitals}
    assert by_field["systolic_bp"].used and note[by_field["systolic_bp"].start :].startswith("88")
    assert not by_field["heart_rate"].used
    assert by_field["heart_rate"].conflict_with_structured == 90
    hr = next(p for p in result.news2.parameters if p.parameter == "heart_rate")
    assert hr.value == 90


def test_scores_are_reported():
    result = assess_case(case(respiratory_rate=24, systolic_bp=95, heart_rate=110))
    assert result.qsofa is not None and result.qsofa.positive
    assert result.shock_index is not None and result.shock_index.value == 1.16


@pytest.mark.parametrize(
    "note",
    [
        "No fever, crushing chest pain radiating to left arm",
        "No fever, crushing chest pain or SOB",
        "Crushing chest pain, radial pulse absent",
        "Not eating for 2 days, vomiting blood x3",
        "No LOC. facial droop and slurred speech",
        "Chest pain started 30 min before arrival",
        "Known asthmatic, severe respiratory distress, cyanotic",
        "Previously healthy 58M, crushing chest pain",
        "Hx HTN, chest pain radiating to jaw",
        "h/o seizures, seizing in triage",
        "s/p fall, vomiting blood",
        "Brought in by partner, actively seizing",
        "Found by son, unresponsive",
        "Lives with wife, crushing chest pain",
        "No fever, chills, or night sweats. CP x1h.",
    ],
)
def test_a_red_flag_is_never_hidden_by_a_cue_that_belongs_to_another_phrase(note):
    assert assess_case(case(note)).risk_level.value == "high", note


@pytest.mark.parametrize(
    "note",
    [
        "Denies fever, chest pain or SOB.",
        "no facial droop, slurred speech, or arm drift",
        "PMH: HTN, DM, CVA.",
        "Mother had a stroke.",
        "Return if chest pain, SOB or syncope.",
    ],
)
def test_lists_under_one_cue_still_count(note):
    assert assess_case(case(note)).risk_level.value == "low", note
