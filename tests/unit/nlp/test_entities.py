"""Entities with spans and context: symptoms, conditions, medications, allergies."""

from __future__ import annotations

from shared.nlp.entities import find_entities, no_known_allergies

NOTE = (
    "67F PMH HTN, DM2, hx of MI. c/o SOB and CP x2d, denies fever. "
    "Takes metformin, lisinopril and Tylenol. Allergic to penicillin and sulfa drugs. "
    "Mother with breast cancer."
)


def by_concept():
    return {(e.kind, e.concept): e for e in find_entities(NOTE)}


def test_symptoms_with_spans_and_context():
    found = by_concept()
    sob = found[("symptom", "shortness of breath")]
    assert NOTE[sob.start : sob.end] == "SOB" and sob.asserted
    assert found[("symptom", "chest pain")].asserted
    fever = found[("symptom", "fever")]
    assert fever.context.negated and not fever.asserted


def test_conditions_are_history_and_a_relative_s_is_family():
    found = by_concept()
    for concept in ("hypertension", "diabetes", "myocardial infarction"):
        assert found[("condition", concept)].context.historical, concept
    assert found[("condition", "cancer")].context.family


def test_medications_from_the_drug_dictionary_brand_names_resolved():
    meds = {e.concept for e in find_entities(NOTE) if e.kind == "medication"}
    assert {"Metformin", "Lisinopril", "Acetaminophen"} <= meds
    assert "Penicillin" not in meds  # an allergy, not a medication taken


def test_allergies():
    allergies = [e.concept for e in find_entities(NOTE) if e.kind == "allergy"]
    assert allergies == ["penicillin", "sulfa drugs"]
    assert no_known_allergies("Meds: none. NKDA.")
    assert not no_known_allergies("Allergic to latex.")


def test_abbreviations_match_only_as_written():
    found = {(e.kind, e.concept) for e in find_entities("his dm is fine; chart shows mi", False)}
    assert ("condition", "diabetes") not in found  # "dm" lower case is not DM
