"""ConText on chosen sentences: each property, its deciding trigger, scope and robustness."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.nlp.context import ContextDocument, assess_context
from tests.support.context_eval import evaluate, format_report, load_sentences
from tests.support.services import ROOT

DATA = ROOT / "tests" / "data"


def context(text, target, occurrence=0):
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(target, start + 1)
    return assess_context(text, start, start + len(target))


def flags(result):
    return {n for n in ("negated", "historical", "hypothetical", "family") if getattr(result, n)}


def test_public_signature_takes_text_start_end():
    assert list(inspect.signature(assess_context).parameters)[:3] == ["text", "start", "end"]


@pytest.mark.parametrize(
    ("text", "target", "expected", "trigger"),
    [
        ("Pt denies chest pain.", "chest pain", {"negated"}, "denies"),
        ("Denies fever, chills, nausea or vomiting.", "vomiting", {"negated"}, "Denies"),
        ("PE was ruled out.", "PE", {"negated"}, "was ruled out"),
        ("Hx of MI.", "MI", {"historical"}, "Hx of"),
        ("s/p CVA in 2019.", "CVA", {"historical"}, "s/p"),
        ("Return if chest pain recurs.", "chest pain", {"hypothetical"}, "Return if"),
        ("To r/o MI.", "MI", {"hypothetical"}, "r/o"),
        ("Mother had a stroke at 60.", "stroke", {"family"}, "Mother"),
        ("FHx of sudden cardiac death.", "sudden cardiac death", {"family"}, "FHx of"),
        ("c/o CP x2h. deneis SOB.", "SOB", {"negated"}, "deneis"),
    ],
)
def test_each_property_and_the_trigger_that_decided_it(text, target, expected, trigger):
    result = context(text, target)
    assert flags(result) == expected
    (name,) = expected
    assert getattr(result, f"{name}_by") == trigger


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Denies chest pain but reports shortness of breath.", "shortness of breath"),
        ("No fever; has cough.", "cough"),
        ("Hx of MI, now with chest pain.", "chest pain"),
        ("Wife reports that patient has chest pain.", "chest pain"),
        ("Brought in by daughter; patient confused.", "confused"),
        ("9 month old, parents say he looks mottled", "mottled"),  # the parents only report
        ("Mum says baby is not feeding.", "not feeding"),
        ("Wife noticed facial droop at 0930.", "facial droop"),
        ("Husband witnessed a seizure at home.", "seizure"),
        ("Found by her roommate with an empty bottle of pills.", "empty bottle"),
        ("Brought in by friends after collapsing at a bar.", "collapsing"),
        ("No increase in shortness of breath.", "shortness of breath"),
        ("Gram negative bacteremia.", "bacteremia"),
        ("67 year old with chest pain.", "chest pain"),
        ("c/o CP x2h. deneis SOB.", "CP"),
        ("History of seizures 2 years ago. Seizure today.", "Seizure"),
    ],
)
def test_affirmed_for_this_patient_now(text, target):
    assert flags(context(text, target)) == set()


def test_combinations():
    assert flags(context("Denies hx of MI.", "MI")) == {"negated", "historical"}
    assert flags(context("No family history of stroke.", "stroke")) == {"negated", "family"}


def test_span_outside_text_is_refused():
    with pytest.raises(ValueError, match="outside the text"):
        assess_context("short", 2, 50)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000), st.data())
def test_any_text_and_span_is_handled(text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    result = assess_context(text, start, end)
    for name in ("negated", "historical", "hypothetical", "family"):
        assert isinstance(getattr(result, name), bool)


@pytest.mark.timeout(60)
def test_a_megabyte_without_sentence_breaks_is_handled():
    text = "denies " + "chest pain and " * 70_000 + "fever"
    result = assess_context(text, len(text) - 5, len(text))
    assert result.negated


@pytest.mark.parametrize(
    ("path", "floor"),
    [
        # The lexicon was developed against this set: it guards against regressions.
        ("context_sentences.jsonl", {"negated": 0.97, "historical": 0.97, "hypothetical": 0.97,
                                     "family": 0.97, "accuracy": 0.97}),
        # Written independently, not for tuning. Not quite untouched: the comma-scope commit
        # (e65900a) changed eight of its verdicts (four fixed, four broken; accuracy 0.862
        # before and after). Since then fixes are tuned on the development set, MACCROBAT and
        # new sentences only, so this stays the closest to an honest estimate.
        ("context_heldout.jsonl", {"negated": 0.92, "historical": 0.80, "hypothetical": 0.83,
                                   "family": 0.78, "accuracy": 0.85}),
    ],
)  # fmt: skip
def test_precision_and_recall_on_our_annotated_sets(path, floor):
    scores = evaluate(assess_context, load_sentences(DATA / path))
    print(path, "\n" + format_report(scores))
    for name in ("negated", "historical", "hypothetical", "family"):
        assert scores[name]["f1"] >= floor[name], (name, scores[name])
    assert scores["overall"]["accuracy"] >= floor["accuracy"]


# Issue 6: the misses a review of real ED notes found. Each case failed before the fix.
@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("2-day history of chest pain.", "chest pain"),
        ("58M with a 3 day history of crushing chest pain.", "crushing chest pain"),
        ("Two-week hx of cough, now SOB.", "cough"),
        ("Short history of abdominal pain.", "abdominal pain"),
        ("Chest pain for 3 days.", "Chest pain"),
        ("Hx of chest pain since yesterday.", "chest pain"),
        ("h/o CP x2 days, worse today.", "CP"),
        ("History of present illness: chest pain radiating to jaw.", "chest pain"),
    ],
)
def test_a_duration_is_the_present_illness_not_history(text, target):
    assert flags(context(text, target)) == set()


@pytest.mark.parametrize(
    ("text", "target", "trigger"),
    [
        ("hx of HTN.", "HTN", "hx of"),
        ("History of MI in 2019.", "MI", "History of"),
        ("h/o asthma for 10 years.", "asthma", "h/o"),  # years stay history
        ("Hx of seizures since childhood.", "seizures", "Hx of"),
    ],
)
def test_history_without_a_recent_duration_stays_history(text, target, trigger):
    result = context(text, target)
    assert flags(result) == {"historical"}
    assert result.historical_by == trigger


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Post seizure, drowsy.", "seizure"),
        ("Post-ictal after a seizure at home.", "seizure"),
        ("Postictal, seizure witnessed by wife.", "seizure"),
        ("Pt postictal following generalized seizure lasting 2 min", "seizure"),
    ],
)
def test_a_seizure_the_patient_is_post_ictal_from_is_over(text, target):
    result = context(text, target)
    assert flags(result) == {"historical"}
    assert result.historical_by is not None
    assert result.historical_by.lower().startswith("post")


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Postictal, then seizing again in triage.", "seizing"),
        ("Post-ictal, now actively seizing.", "seizing"),
        ("Postictal drowsiness, GCS 13.", "drowsiness"),
    ],
)
def test_post_ictal_leaves_a_seizure_going_on_now_and_other_findings_alone(text, target):
    assert flags(context(text, target)) == set()


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Denies fever, chills, shortness of breath on exertion, nausea, vomiting.", "vomiting"),
        ("Denies fever, chills, reported weight loss, nausea.", "nausea"),
        ("Denies fever, chills, reported weight loss, nausea.", "reported weight loss"),
        ("No fever, chills.", "chills"),
        ("no fever, cough, night sweats", "night sweats"),
        ("Nil SOB, chest pain, palpitations.", "palpitations"),
        ("Without nausea, vomiting, and diarrhea.", "diarrhea"),
        ("Neither purpura nor bleeding.", "purpura"),
        ("No facial droop, slurred speech, or arm drift.", "arm drift"),
        ("There was no history of decreased urine output, dialysis, chest pain or palpitation.",
         "palpitation"),
    ],
)  # fmt: skip
def test_every_item_of_a_denied_list_is_negated(text, target):
    found = flags(context(text, target))
    assert "negated" in found and found <= {"negated", "historical"}  # "no history of"


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("No fever, but crushing chest pain.", "crushing chest pain"),
        ("No fever. Crushing chest pain.", "Crushing chest pain"),
        ("No fever; chest pain.", "chest pain"),
        ("No fever\nchest pain", "chest pain"),
        ("denies SOB, +CP", "CP"),
        ("no fever, has chest pain", "chest pain"),
        ("No fever, reports chest pain.", "chest pain"),
        ("Denies fever, presents with chest pain.", "chest pain"),
        ("No fever, crushing chest pain radiating to left arm.", "crushing chest pain"),
        ("No fever, crushing chest pain or SOB.", "crushing chest pain"),
        ("No fever, severe headache.", "headache"),
        ("Denies cough, chest pain x2h.", "chest pain"),
        ("No fever, chest pain started 1 hour ago.", "chest pain"),
        ("No fever, crushing chest pain, SOB.", "SOB"),  # the list ended at the new clause
    ],
)
def test_a_new_clause_with_its_own_assertion_ends_the_list(text, target):
    assert flags(context(text, target)) == set()


@pytest.mark.parametrize(
    ("text", "target", "trigger"),
    [
        ("Chest pain: none.", "Chest pain", "none"),
        ("Chest pain now resolved.", "Chest pain", "now resolved"),
        ("Headache resolved after paracetamol.", "Headache", "resolved"),
        ("-ve for chest pain, SOB.", "SOB", "-ve for"),
        ("Troponin -ve.", "Troponin", "-ve"),
        ("Nil chest pain.", "chest pain", "Nil"),
        ("COVID negative.", "COVID", "negative"),
        ("Leg swelling was not observed.", "Leg swelling", "was not observed"),
        ("Chest pain disappeared.", "Chest pain", "disappeared"),
        ("Pt doesn't have chest pain.", "chest pain", "doesn't have"),
    ],
)
def test_more_negation_cues(text, target, trigger):
    result = context(text, target)
    assert flags(result) == {"negated"}
    assert result.negated_by == trigger


def test_a_past_episode_that_resolved_is_history_not_a_denial():
    result = context("Similar headache 2 years ago that resolved on its own.", "headache")
    assert flags(result) == {"historical"}


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Did not take her meds and chest pain started.", "chest pain"),
        ("Did not take her meds and has chest pain.", "chest pain"),
        ("Is not sure when the chest pain started.", "chest pain"),
        ("Pt does not know why the chest pain started.", "chest pain"),
        ("Did not sleep well and woke with chest pain.", "chest pain"),
        ("Not eating for 2 days, vomiting blood x3.", "vomiting blood"),
    ],
)
def test_a_bare_not_negates_only_what_it_modifies(text, target):
    assert flags(context(text, target)) == set()


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Not short of breath.", "short of breath"),
        ("Pt is not febrile.", "febrile"),
        ("Does not have any chest pain.", "chest pain"),
    ],
)
def test_a_bare_not_still_negates_the_words_right_after_it(text, target):
    assert flags(context(text, target)) == {"negated"}


def test_one_document_serves_every_target_of_a_text_alike():
    text = "58M c/o crushing chest pain x2h. Denies fever, chills. Hx of MI. Mother had CVA."
    document = ContextDocument(text)
    for target in ("crushing chest pain", "chills", "MI", "CVA", "fever"):
        start = text.index(target)
        assert document.assess(start, start + len(target)) == assess_context(
            text, start, start + len(target)
        )
    with pytest.raises(ValueError, match="outside the text"):
        document.assess(5, len(text) + 1)
