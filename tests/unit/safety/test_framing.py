"""Layer 1 on sentences a medical model writes: diagnostic wording becomes assistive,
certainty goes, and negations and the note's quoted words are never changed."""

from __future__ import annotations

import re

import pytest

from shared.safety.framing import frame, rules_applied

REWRITES = [
    ("The patient was diagnosed with pneumonia last week.",
     "The patient's clinical history includes pneumonia last week."),
    ("Diagnosed with T2DM in 2015, on metformin.",
     "Clinical history includes T2DM in 2015, on metformin."),
    ("She was recently diagnosed with asthma.", "Her clinical history includes recent asthma."),
    ("A 67-year-old man who was diagnosed with COPD presents with worsening dyspnoea.",
     "A 67-year-old man whose clinical history includes COPD presents with worsening dyspnoea."),
    ("He has pneumonia.", "Findings may be consistent with pneumonia."),
    ("The patient is having an MI.", "Findings may be consistent with an MI."),
    ("This 67-year-old woman likely has sepsis secondary to a urinary tract infection.",
     "In this 67-year-old woman, findings may be consistent with sepsis possibly secondary to a "
     "urinary tract infection."),
    ("He has had a stroke in the past.", "His clinical history includes a stroke in the past."),
    ("ECG confirms an inferior STEMI.", "ECG may be consistent with an inferior STEMI."),
    ("The patient confirms chest pain radiating to the left arm.",
     "The patient reports chest pain radiating to the left arm."),
    ("This is definitely an acute coronary syndrome.",
     "This may be consistent with an acute coronary syndrome."),
    ("The presentation is consistent with pulmonary embolism.",
     "The presentation may be consistent with pulmonary embolism."),
    ("I am 100% certain this is a PE.", "This may be consistent with a PE."),
    ("Most likely diagnosis: acute appendicitis.",
     "Findings may be consistent with acute appendicitis."),
    ("The diagnosis is sepsis.", "Findings may be consistent with sepsis."),
    ("PE has been ruled out.", "PE has been considered less likely (not excluded)."),
    ("Chest pain is clearly documented.", "Chest pain is documented."),
    ("The patient is septic with a lactate of 4.",
     "The patient has findings that may be consistent with sepsis with a lactate of 4."),
    ("Without a doubt, this patient requires immediate review.",
     "This patient requires immediate review."),
    ("Mr Smith has pneumothorax.", "Mr Smith has findings that may be consistent with pneumothorax."),
    ("Troponin is elevated, which is diagnostic of myocardial infarction.",
     "Troponin is elevated, which may be consistent with myocardial infarction."),
    ("This picture is classic for aortic dissection.",
     "This picture may be consistent with aortic dissection."),
    ("Presents with DKA and vomiting.",
     "Presents with findings that may be consistent with DKA and vomiting."),
    ("Chest X-ray shows consolidation, confirming the diagnosis of pneumonia.",
     "Chest X-ray shows consolidation, possibly consistent with pneumonia."),
    ("It is clear that the patient is in septic shock.",
     "Findings may be consistent with septic shock."),
    ("This must be a subarachnoid haemorrhage.",
     "This may be consistent with a subarachnoid haemorrhage."),
    ("The CT rules out intracranial haemorrhage.",
     "The CT may make intracranial haemorrhage less likely."),
    ("There is no doubt that she has appendicitis.",
     "Findings may be consistent with appendicitis."),
    ("Crushing chest pain due to acute coronary syndrome.",
     "Crushing chest pain possibly due to acute coronary syndrome."),
    ("Confirmed diagnosis of meningitis.", "Possible meningitis."),
    ("Patient is certainly unstable and will definitely need admission.",
     "Patient is unstable and will need admission."),
    ("The diagnosis is certain.", "The diagnosis is possible, not confirmed."),
]  # fmt: skip

UNCHANGED = [
    "PE cannot be ruled out.",
    "She does not have pneumonia.",
    "He was never diagnosed with diabetes.",
    "He has not been diagnosed with epilepsy.",
    "No evidence of pneumonia on the chest X-ray.",
    'The note says "diagnosed with pneumonia" yesterday.',
    "The note reads \u201cdefinitely has pneumonia per GP\u201d.",
    "Sats 100% on room air.",
    "The onset is not clearly described.",
    "Findings may be consistent with pneumonia.",
    "Denies chest pain; no history of MI.",
    "The presentation is not consistent with ACS.",
    "Sepsis is unlikely given normal vital signs.",
    "Consider a CT head to rule out subarachnoid haemorrhage.",
    "The patient has a history of asthma.",
    "The patient has chest pain and shortness of breath for 2 hours.",
    "She doesn't have a pneumothorax on the film.",
]


@pytest.mark.parametrize(("written", "framed"), REWRITES)
def test_diagnostic_and_certain_wording_becomes_assistive(written: str, framed: str) -> None:
    assert frame(written) == framed
    assert rules_applied(written)


@pytest.mark.parametrize("written", UNCHANGED)
def test_negations_quotes_and_hedged_wording_are_left_alone(written: str) -> None:
    assert frame(written) == written
    assert rules_applied(written) == []


ABSOLUTE = re.compile(
    r"\b(?:definitely|certainly|undoubtedly|without a doubt|100% certain|diagnosed with|"
    r"confirms)\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize("written", [w for w, _ in REWRITES] + UNCHANGED)
def test_framing_is_stable_and_leaves_no_absolute_claim(written: str) -> None:
    once = frame(written)
    assert frame(once) == once  # a second pass changes nothing
    unquoted = re.sub(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d", "", once)
    if not re.search(r"\b(?:not|never|no|n't)\b", written):
        assert not ABSOLUTE.search(unquoted)


def test_kept_record_words_are_not_rewritten() -> None:
    complaint = "pt has pneumonia per GP"
    text = f"45-year-old; chief complaint: {complaint}; acuity 3 urgent."
    assert frame(text, keep=[complaint]) == text
    assert "findings may be consistent with" in frame(text).lower()
