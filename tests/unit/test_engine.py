"""The engine on the whole case: high-risk presentations in the text, vitals from the note,
scores (CLINICAL.md v2, five acuity levels)."""

from __future__ import annotations

import pytest

from shared.clinical.engine import assess_case
from shared.schemas import CaseIn
from tests.unit.clinical.cases import case, reason, shown


def adult(note: str = "", complaint: str = "review", **vitals) -> CaseIn:
    return case(complaint, note, age=58, **vitals)


def test_asserted_red_flag_in_the_note_makes_the_case_emergent_with_its_span():
    note = "58M c/o crushing chest pain radiating to L arm."
    result = assess_case(adult(note))
    assert result.acuity == 2 and result.risk_level.value == "high", shown(result)
    acs = reason(result, "acs_chest_pain")
    assert acs.acuity == 2 and acs.source == "note"
    assert note[acs.start : acs.end] == acs.evidence == "crushing chest pain"


def test_negated_red_flag_leaves_normal_vitals_at_4():
    result = assess_case(adult("Denies chest pain, SOB or syncope."))
    assert result.acuity == 4 and result.risk_level.value == "low", shown(result)


def test_red_flag_in_the_chief_complaint():
    result = assess_case(adult(complaint="chest pain"))
    assert result.acuity == 2, shown(result)
    assert reason(result, "acs_chest_pain").source == "chief_complaint"


def test_vitals_from_the_note_fill_gaps_and_the_more_urgent_value_counts():
    note = "BP 88/50, HR 128, RR 26, sats 89% on RA, temp 101.3F, A&Ox3"
    result = assess_case(
        CaseIn(age_years=40, chief_complaint="weak", note=note, vitals={"heart_rate": 90})
    )
    # SpO2 89% from the note is below 90%: level 1.
    assert result.acuity == 1 and reason(result, "spo2_very_low").value == 89, shown(result)
    assert result.vitals_documented and result.missing_vitals == []
    by_field = {v.field: v for v in result.note_vitals}
    assert by_field["systolic_bp"].used and note[by_field["systolic_bp"].start :].startswith("88")
    # The note's HR 128 disagrees with the field's 90: the more urgent (NEWS2 2 vs 0) counts,
    # and the conflict is shown with both values.
    assert by_field["heart_rate"].used and by_field["heart_rate"].conflict_with_structured == 90
    (conflict,) = result.conflicts
    assert (conflict.field, conflict.structured, conflict.note, conflict.used) == (
        "heart_rate",
        90,
        128,
        "note",
    )
    hr = next(p for p in result.news2.parameters if p.parameter == "heart_rate")
    assert hr.value == 128
    temperature = next(p for p in result.news2.parameters if p.parameter == "temperature")
    assert temperature.value == 38.5  # 101.3 F


def test_scores_are_reported():
    result = assess_case(adult(respiratory_rate=24, systolic_bp=95, heart_rate=110))
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
    result = assess_case(adult(note))
    assert result.acuity <= 2 and result.risk_level.value == "high", shown(result)


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
    result = assess_case(adult(note))
    assert result.acuity == 4 and result.risk_level.value == "low", shown(result)
