"""The case page says when the model read a shortened note (shared.inference.fit), and says
nothing when it read the whole note."""

from __future__ import annotations

from shared.lifecycle_view import model_output_view
from shared.safety import MODEL_OUTPUT_KEY, apply_safety
from tests.unit.safety.conftest import model_output
from tests.unit.safety.test_case_page_partial import render


def page(case, assessment, record, medgemma, truncation):  # type: ignore[no-untyped-def]
    safe = apply_safety(model_output(), case=case, assessment=assessment, model=medgemma,
                        record=record)  # fmt: skip
    payload = {"details": {MODEL_OUTPUT_KEY: safe.model_dump(mode="json"),
                           "model_run": {"prompt_truncation": truncation}}}  # fmt: skip
    return render({"model_output": model_output_view(payload)})


def test_a_shortened_note_is_said_beside_the_model_output(case, assessment, record, medgemma):  # type: ignore[no-untyped-def]
    shown = page(case, assessment, record, medgemma,
                 {"policy": "note-head-tail-v1", "words_omitted": 2315, "skipped": False})  # fmt: skip
    assert 'id="model-note-shortened"' in shown
    assert "with 2315 words from the middle left out" in shown
    whole = page(case, assessment, record, medgemma, None)
    assert 'id="model-summary"' in whole and "model-note-shortened" not in whole
