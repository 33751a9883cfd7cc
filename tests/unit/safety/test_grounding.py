"""Layer 3: what a model writes is checked against the record; what the record does not hold
is withheld from what is shown as fact and kept, marked, for the clinician."""

from __future__ import annotations

import pytest

from shared.safety.grounding import check
from shared.safety.record import Record


def kinds(claims, grounding):  # type: ignore[no-untyped-def]
    return sorted({c.kind for c in claims if c.grounding == grounding})


def test_a_faithful_sentence_is_kept_with_every_claim_grounded(record: Record) -> None:
    text = ("67-year-old woman with crushing chest pain and shortness of breath for 2 hours; "
            "HR 128, BP 88/50, SpO2 90% on room air.")  # fmt: skip
    shown, claims = check(text, record, "summary")
    assert shown == text
    assert kinds(claims, "grounded") == ["finding", "number", "vital_sign"]
    assert kinds(claims, "ungrounded") == []


def test_vital_signs_that_differ_from_the_record_are_withheld(record: Record) -> None:
    shown, claims = check("Chest pain for 2 hours. HR 140 and BP 70/40 on arrival.", record, "s")
    assert shown == "Chest pain for 2 hours."
    wrong = [c for c in claims if c.grounding == "ungrounded"]
    assert {c.text for c in wrong} == {"HR 140", "BP 70/40"}
    assert any("128" in c.reason for c in wrong)
    assert all(c.sentence == "HR 140 and BP 70/40 on arrival." for c in wrong)


def test_a_typed_vital_sign_grounds_the_model_value(record: Record) -> None:
    shown, _ = check("Temperature 37.1 C.", record, "summary")
    assert shown == "Temperature 37.1 C."
    shown, claims = check("Temperature 39.4 C.", record, "summary")
    assert shown == "" and claims[0].kind == "vital_sign"


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("She takes metformin 500 mg and warfarin daily.", {"warfarin"}),
        ("She takes metformin 850 mg daily.", {"850 mg"}),
        ("Given aspirin 300 mg by the paramedics.", {"aspirin", "300 mg"}),
        ("On GTN spray at home.", {"GTN spray"}),
    ],
)
def test_invented_drugs_and_doses_are_ungrounded(record: Record, text: str, bad: set[str]) -> None:
    shown, claims = check(text, record, "summary")
    assert shown == ""
    assert {c.text for c in claims if c.grounding == "ungrounded"} == bad


def test_a_suggested_drug_is_an_interpretation_but_its_invented_dose_is_not(
    record: Record,
) -> None:
    shown, claims = check("Consider aspirin.", record, "next_steps[0]", advice=True)
    assert shown == "Consider aspirin." and kinds(claims, "interpretation") == ["drug"]
    shown, claims = check("Consider aspirin 300 mg.", record, "next_steps[0]", advice=True)
    assert shown == "" and kinds(claims, "ungrounded") == ["dose"]


@pytest.mark.parametrize(
    "text",
    [
        "90% of patients with this presentation have an acute MI.",
        "The mortality of aortic dissection is around 40%.",
        "1 in 3 patients with these findings deteriorate.",
        "Studies show early PCI improves outcomes.",
        "Smokers are 4 times more likely to have ACS.",
    ],
)
def test_invented_statistics_are_flagged(record: Record, text: str) -> None:
    shown, claims = check(text, record, "summary")
    assert shown == ""
    assert "statistic" in kinds(claims, "ungrounded")


def test_invented_numbers_and_results_are_withheld(record: Record) -> None:
    shown, claims = check(
        "ECG shows ST elevation in V2-V4. Troponin is elevated at 45. Symptoms for 6 hours.",
        record,
        "summary",
    )
    assert shown == "ECG shows ST elevation in V2-V4."
    assert kinds(claims, "grounded") == ["result"]
    assert kinds(claims, "ungrounded") == ["number", "result"]


def test_conditions_stated_as_fact_must_be_on_record(record: Record) -> None:
    shown, claims = check("Clinical history includes hypertension. She also has COPD.",
                          record, "summary")  # fmt: skip
    assert shown == "Clinical history includes hypertension."
    assert [c.text for c in claims if c.grounding == "ungrounded"] == ["COPD"]


def test_a_possibility_is_an_interpretation_not_a_fact(record: Record) -> None:
    text = "Findings may be consistent with an acute coronary syndrome; consider PE."
    shown, claims = check(text, record, "summary")
    assert shown == text
    assert kinds(claims, "interpretation") == ["condition"]


def test_a_finding_contradicting_the_record_is_withheld(record: Record) -> None:
    shown, claims = check("The patient reports fever. She denies shortness of breath.",
                          record, "summary")  # fmt: skip
    assert shown == ""
    reasons = {c.text: c.reason for c in claims if c.grounding == "ungrounded"}
    assert reasons == {"fever": "the record says it is absent",
                       "shortness of breath": "the record says it is present"}  # fmt: skip


def test_quoted_note_words_must_be_in_the_note(record: Record) -> None:
    shown, claims = check('The note says "crushing chest pain". It says "tearing pain to the back".',
                          record, "summary")  # fmt: skip
    assert shown == 'The note says "crushing chest pain".'
    assert [c.grounding for c in claims if c.kind == "quote"] == ["grounded", "ungrounded"]


def test_names_with_digits_and_own_advice_are_not_numbers(record: Record) -> None:
    shown, claims = check("Repeat a 12-lead ECG within 15 minutes; NEWS2 and SpO2 hourly.",
                          record, "next_steps[0]", advice=True)  # fmt: skip
    assert shown.startswith("Repeat")
    assert not [c for c in claims if c.kind == "number"]


def test_a_condition_the_record_denies_is_not_grounded_by_its_name() -> None:
    """ "No pneumothorax" in the note grounded a model's "pneumothorax" as fact, because a
    condition's name was looked up without its negation."""
    from shared.clinical.engine import assess_case
    from shared.schemas import CaseIn

    case = CaseIn(age_years=30, sex="male", chief_complaint="chest pain",
                  note="Fell off bike. Chest X-ray at the clinic: no pneumothorax.")  # fmt: skip
    record = Record.of(case, assess_case(case))
    shown, claims = check("Pneumothorax after a fall.", record, "summary")
    (claim,) = [c for c in claims if c.text.lower() == "pneumothorax"]
    assert claim.grounding == "ungrounded" and claim.reason == "the record says it is absent"
    assert "Pneumothorax" not in shown
    # Said by the record as present, it stays grounded.
    present = CaseIn(age_years=30, sex="male", chief_complaint="chest pain",
                     note="Fell off bike. Clinic X-ray shows a small pneumothorax.")  # fmt: skip
    record = Record.of(present, assess_case(present))
    _shown, claims = check("Pneumothorax after a fall.", record, "summary")
    assert [c.grounding for c in claims if c.text.lower() == "pneumothorax"] == ["grounded"]
