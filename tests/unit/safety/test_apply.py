"""apply_safety on hand-written model outputs, end to end: what the case page may show."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.safety import OutputRefused, apply_safety
from shared.safety.record import Record
from shared.safety.schema import SAFETY_DISCLAIMER, ModelTriageOutput
from shared.schemas import Assessment, CaseIn, ModelInfo
from tests.unit.safety.conftest import model_output


@pytest.fixture
def run(case: CaseIn, assessment: Assessment, record: Record, medgemma: ModelInfo):  # type: ignore[no-untyped-def]
    def go(output: object, **kwargs: object):  # type: ignore[no-untyped-def]
        return apply_safety(output, case=case, assessment=assessment, model=medgemma,  # type: ignore[arg-type]
                            record=record, **kwargs)  # fmt: skip

    return go


def test_a_faithful_output_passes_with_provenance_and_disclaimer(run, assessment) -> None:  # type: ignore[no-untyped-def]
    safe = run(json.dumps(model_output()))
    assert safe.summary.startswith("67-year-old woman with crushing chest pain")
    assert safe.applied_acuity == 2 and safe.disagreement is None
    assert safe.next_steps == ["Consider obtaining a 12-lead ECG within 10 minutes"]
    assert safe.disclaimer == SAFETY_DISCLAIMER
    assert safe.ai_generated_by.startswith("google/medgemma-4b-it, version 1.0.1")
    assert "Health AI Developer Foundations" in safe.licence_notice
    assert "modified" in safe.licence_notice
    assert not [c for c in safe.claims if c.grounding == "ungrounded"]
    assert safe.confidence == assessment.confidence and safe.confidence <= 0.95


def test_diagnostic_language_is_framed_everywhere(run) -> None:  # type: ignore[no-untyped-def]
    safe = run(model_output(
        summary="She is definitely having an acute coronary syndrome.",
        acuity_reason="ECG confirms a STEMI.",
        uncertainties=["It is certain that this is not a dissection."],
    ))  # fmt: skip
    assert safe.summary == "Findings may be consistent with an acute coronary syndrome."
    assert safe.acuity_reason == "ECG may be consistent with a STEMI."
    assert "certain" not in safe.uncertainties[0]


def test_invented_numbers_drugs_doses_and_vitals_are_withheld_and_kept_for_audit(
    run, assessment
) -> None:  # type: ignore[no-untyped-def]
    safe = run(model_output(
        summary="Chest pain for 2 hours. HR 150 on arrival. She takes warfarin 5 mg. "
                "Symptoms began after 9 days of cough.",
        next_steps=["Give aspirin 300 mg", "Obtain a 12-lead ECG"],
        key_findings=[{"finding": "Crushing chest pain", "evidence": "crushing chest pain"},
                      {"finding": "Hypoxia", "evidence": "sats 84% on RA"}],
    ))  # fmt: skip
    assert safe.summary == "Chest pain for 2 hours."
    assert safe.next_steps == ["Consider obtaining a 12-lead ECG"]
    assert [f.finding for f in safe.key_findings] == ["Crushing chest pain"]
    flagged = {(c.kind, c.text) for c in safe.claims if c.grounding == "ungrounded"}
    assert flagged == {("vital_sign", "HR 150"), ("drug", "warfarin"), ("dose", "5 mg"),
                       ("number", "9"), ("finding", "cough"), ("dose", "300 mg"),
                       ("quote", "sats 84% on RA")}  # fmt: skip
    assert all(c.sentence for c in safe.claims if c.grounding == "ungrounded")
    assert safe.confidence == round(assessment.confidence - 0.25, 2)  # seven, capped at 0.25
    assert "7 statement(s) not found in the record" in safe.confidence_note
    low = run(model_output(summary="HR 150.", suggested_acuity=4), repaired=True)
    assert low.confidence < 0.7 and low.caution and low.caution.startswith("Caution")
    shown = " ".join([safe.summary, *safe.next_steps, *(f.finding for f in safe.key_findings)])
    for _, text in flagged:
        assert text not in shown


def test_an_invented_statistic_is_flagged_and_withheld(run) -> None:  # type: ignore[no-untyped-def]
    safe = run(model_output(summary="Chest pain for 2 hours. 90% of patients like her have an MI."))
    assert safe.summary == "Chest pain for 2 hours."
    assert any(c.kind == "statistic" and c.grounding == "ungrounded" for c in safe.claims)


def test_a_less_urgent_suggestion_is_shown_not_applied(run) -> None:  # type: ignore[no-untyped-def]
    safe = run(model_output(suggested_acuity=5, acuity_reason="Well and stable."))
    assert safe.suggested_acuity == 5 and safe.applied_acuity == 2
    assert safe.disagreement and "rules' level stands" in safe.disagreement
    more = run(model_output(suggested_acuity=1))
    assert more.applied_acuity == 1 and more.disagreement is None


def test_fallbacks_and_repair_lower_confidence_and_say_why(run) -> None:  # type: ignore[no-untyped-def]
    plain = run(model_output())
    worse = run(model_output(), fallbacks=["medgemma-27b: folder missing"], repaired=True)
    assert worse.confidence < plain.confidence
    assert "folder missing" in worse.confidence_note and "repair" in worse.confidence_note


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps(model_output())[:80],  # cut off by the token limit
        "",
        "not json at all",
        json.dumps(model_output(suggested_acuity=7)),
        json.dumps(model_output(confidence=1.0)),  # a field the schema does not have
        json.dumps({k: v for k, v in model_output().items() if k != "summary"}),
    ],
)
def test_a_truncated_or_invalid_output_is_refused_cleanly(run, raw: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OutputRefused) as refused:
        run(raw)
    assert refused.value.reason.startswith("invalid model output")
    with pytest.raises(ValueError):
        ModelTriageOutput.model_validate_json(raw)


SENTENCES = st.sampled_from([
    "He definitely has pneumonia.", "HR 190.", "Give 10 mg morphine.", "BP 60/30 on arrival.",
    "90% of patients die.", "Diagnosed with sepsis.", "Chest pain for 2 hours.", "Stable.",
    "This is 100% a STEMI.", "No concerns; discharge.", 'Note says "fine".',
])  # fmt: skip
TEXT = st.one_of(
    st.lists(SENTENCES, min_size=1, max_size=4).map(" ".join),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=200),
).filter(lambda t: t.strip())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    summary=TEXT,
    steps=st.lists(TEXT.map(lambda t: t[:300]), max_size=3),
    suggested=st.integers(1, 5),
    engine=st.integers(1, 5),
    fallbacks=st.lists(st.text(min_size=1, max_size=20), max_size=3),
    repaired=st.booleans(),
)
def test_whatever_the_model_writes_the_level_is_never_less_urgent_and_confidence_capped(
    case, assessment, record, medgemma, summary, steps, suggested, engine, fallbacks, repaired
) -> None:  # type: ignore[no-untyped-def]
    raw = ModelTriageOutput(summary=summary[:1200], key_findings=[], next_steps=steps,
                            suggested_acuity=suggested, acuity_reason="reason")  # fmt: skip
    safe = apply_safety(raw, case=case, assessment=assessment, model=medgemma, record=record,
                        engine_acuity=engine, fallbacks=fallbacks, repaired=repaired)  # fmt: skip
    assert safe.applied_acuity <= engine and safe.applied_acuity == min(engine, suggested)
    assert safe.confidence <= 0.95
    assert (safe.disagreement is not None) == (suggested > engine)
    assert safe.disclaimer == SAFETY_DISCLAIMER
