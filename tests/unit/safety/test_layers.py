"""Layers 2, 4 and 5 on their own: confidence, clinical validation, who wrote it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.safety.confidence import LOW_CONFIDENCE, caution, model_confidence
from shared.safety.provenance import (
    GEMMA_NOTICE,
    HAI_DEF_NOTICE,
    ai_generated_by,
    as_suggestion,
    licence_notice,
)
from shared.safety.schema import SAFETY_DISCLAIMER, SafeTriageOutput
from shared.safety.validation import applied_acuity
from shared.schemas import Assessment, ModelInfo


def test_a_more_urgent_model_level_is_applied_a_less_urgent_one_only_shown() -> None:
    assert applied_acuity(3, 2) == (2, None)
    level, disagreement = applied_acuity(2, 4)
    assert level == 2
    assert disagreement is not None and "4 less-urgent" in disagreement
    assert "2 emergent" in disagreement


def test_confidence_falls_for_each_reason_and_never_passes_095(assessment: Assessment) -> None:
    full = assessment.model_copy(update={"confidence": 0.95, "confidence_note": ""})
    agree, _ = model_confidence(full, engine_acuity=2, suggested_acuity=2)
    assert agree == 0.95
    steps = [
        {"suggested_acuity": 4},
        {"suggested_acuity": 2, "fallbacks": ["medgemma-27b: folder missing"]},
        {"suggested_acuity": 2, "ungrounded": 3},
        {"suggested_acuity": 2, "repaired": True},
    ]
    for step in steps:
        value, note = model_confidence(full, engine_acuity=2, **step)  # type: ignore[arg-type]
        assert value < agree and note.startswith("Lower confidence")
    worst, note = model_confidence(full, engine_acuity=1, suggested_acuity=5, fallbacks=["a", "b"],
                                   ungrounded=9, repaired=True)  # fmt: skip
    assert 0.1 <= worst < LOW_CONFIDENCE
    assert caution(worst) is not None and caution(0.9) is None


def test_confidence_10_is_refused_by_the_schema() -> None:
    with pytest.raises(ValidationError):
        SafeTriageOutput(summary="s", key_findings=[], next_steps=[], suggested_acuity=2,
                         applied_acuity=2, uncertainties=[], confidence=1.0, confidence_note="",
                         claims=[], ai_generated_by="m", licence_notice="n",
                         disclaimer=SAFETY_DISCLAIMER)  # fmt: skip


def test_a_missing_disclaimer_or_a_less_urgent_applied_level_is_refused() -> None:
    base = dict(summary="s", key_findings=[], next_steps=[], suggested_acuity=4, engine_acuity=2,
                applied_acuity=2, uncertainties=[], confidence=0.5, confidence_note="",
                claims=[], ai_generated_by="m", licence_notice="n", disclaimer=SAFETY_DISCLAIMER)  # fmt: skip
    SafeTriageOutput.model_validate(base)
    with pytest.raises(ValidationError, match="disclaimer"):
        SafeTriageOutput.model_validate({**base, "disclaimer": "Use your judgement."})
    with pytest.raises(ValidationError, match="more urgent"):
        SafeTriageOutput.model_validate({**base, "applied_acuity": 4})


def test_who_wrote_it_and_the_licence_notice() -> None:
    quantized = ModelInfo(name="google/medgemma-27b-text-it", version="1.0", revision="abcdef1234567890",
                          quantization="8-bit")  # fmt: skip
    assert ai_generated_by(quantized) == (
        "google/medgemma-27b-text-it, version 1.0 (revision abcdef123456), 8-bit quantized"
    )
    notice = licence_notice(quantized)
    assert HAI_DEF_NOTICE in notice and "modified" in notice and "8-bit" in notice
    plain = ModelInfo(name="google/medgemma-4b-it", version="1.0", quantization=None)
    assert "modified" not in licence_notice(plain) and "not quantized" in licence_notice(plain)
    gemma = ModelInfo(name="gemma3-270m", version="q4_k_m", quantization="bf16")
    assert GEMMA_NOTICE in licence_notice(gemma) and HAI_DEF_NOTICE not in licence_notice(gemma)


@pytest.mark.parametrize(
    ("step", "suggestion"),
    [
        (
            "Obtain a 12-lead ECG within 10 minutes",
            "Consider obtaining a 12-lead ECG within 10 minutes",
        ),
        ("Give aspirin", "Consider giving aspirin"),
        ("Admit to CCU", "Consider admitting to CCU"),
        ("Urgent senior review", "Consider urgent senior review"),
        ("The patient should be admitted", "Consider whether the patient should be admitted"),
        ("Patient needs to have a troponin", "Consider having a troponin"),
        ("If SpO2 falls, give oxygen", "If SpO2 falls, consider giving oxygen"),
        ("Consider CT head", "Consider CT head"),
        ("Get a VBG", "Consider getting a VBG"),
    ],
)
def test_next_steps_are_framed_as_suggestions(step: str, suggestion: str) -> None:
    assert as_suggestion(step) == suggestion
