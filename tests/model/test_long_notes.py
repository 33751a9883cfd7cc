"""A note too long for the context limit, on the real Gemma 3 270M tokenizer: shortened by the
documented policy (head and tail, a marker, everything else whole), or the model step skipped
with the reason recorded. Never cut silently in the middle of clinical data."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from shared.clinical.engine import assess_case
from shared.config import Settings
from shared.inference.chain import LoadedChain
from shared.inference.local import TransformersBackend
from shared.inference.profiles import get_profile
from shared.pipelines.model import ModelPipeline
from shared.schemas import MAX_NOTE_CHARS, CaseIn

FIRST = "Knee swollen since a fall on the stairs on Monday."
LAST = "Now unable to bear weight, asking for crutches."


def long_note(chars: int) -> str:
    days = []
    day = 0
    while sum(len(d) + 1 for d in days) < chars - len(FIRST) - len(LAST) - 120:
        day += 1
        days.append(f"Day {day}: knee pain {day % 10} of 10 walking {day * 3} metres.")
    return " ".join([FIRST, *days, LAST])


HUGE = CaseIn(
    age_years=62,
    chief_complaint="knee pain",
    note=long_note(MAX_NOTE_CHARS),
    vitals={"heart_rate": 96, "systolic_bp": 150, "respiratory_rate": 18, "spo2": 97},
)


@pytest.fixture(scope="module")
def loaded(small_gemma_folder):
    backend = TransformersBackend(
        get_profile("gemma3-270m", max_new_tokens=24), small_gemma_folder, "cpu", 1
    )
    return backend, backend.load()


def pipeline(loaded, tmp_path, limit: int, monkeypatch, **settings) -> ModelPipeline:
    backend, identity = loaded
    monkeypatch.setattr(backend, "profile", replace(backend.profile, max_input_tokens=limit))
    chain = LoadedChain(backend, identity, load_ms=1.0)
    return ModelPipeline(Settings(instance_path=tmp_path, **settings), chain=chain)


def prompt_text(backend, messages) -> str:
    return backend.tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=False
    )


def test_the_largest_note_is_shortened_to_the_default_limit_keeping_the_clinical_data(
    loaded, tmp_path, monkeypatch
):
    backend, _ = loaded
    assert len(HUGE.note) <= MAX_NOTE_CHARS  # a note intake accepts
    model = pipeline(loaded, tmp_path, 4096, monkeypatch)
    assert model.runner is not None
    fitted = model.runner.fit(HUGE, assess_case(HUGE))
    assert fitted.tokens > 4096, "the note must not fit whole for this test to mean anything"
    assert fitted.messages is not None
    assert backend.count_tokens(fitted.messages) <= 4096
    text = prompt_text(backend, fitted.messages)
    # Everything but the note is whole; the note keeps its head and tail around the marker.
    assert "Chief complaint: knee pain" in text and "heart rate (/min) 96" in text
    assert "Rule-based triage engine: acuity" in text
    assert f"Note: {FIRST}" in text and text.count(LAST) == 1
    (omitted,) = re.findall(r"\[\.\.\. (\d+) words omitted \.\.\.\]", text)
    assert int(omitted) == fitted.words_omitted > 0
    kept = len(fitted.note.split()) - len(MARKER_WORDS)
    assert kept + int(omitted) == len(HUGE.note.split())


MARKER_WORDS = "[... N words omitted ...]".split()


def test_a_shortened_note_goes_to_the_model_and_the_result_says_so(loaded, tmp_path, monkeypatch):
    model = pipeline(loaded, tmp_path, 700, monkeypatch, model_cache_size=0)
    result = model.analyze(HUGE)
    run = result.details["model_run"]
    assert run["attempts"] == 2  # 24 new tokens: cut off, repaired, cut off again
    truncation = run["prompt_truncation"]
    assert truncation["policy"] == "note-head-tail-v1" and truncation["skipped"] is False
    assert truncation["limit"] == 700 and truncation["prompt_tokens"] > 4096
    assert truncation["words_omitted"] > 0
    # Both attempts (the repair carries a longer instruction) were within the limit.
    assert 2 * 500 < run["tokens_in"] <= 2 * 700
    assert run["reason"] == "invalid after repair: output cut off by the token limit"


def test_skip_mode_leaves_the_engine_alone_and_records_why(loaded, tmp_path, monkeypatch):
    model = pipeline(loaded, tmp_path, 4096, monkeypatch, model_long_note="skip")
    engine = model.engine.analyze(HUGE)
    result = model.analyze(HUGE)
    run = result.details["model_run"]
    assert (run["outcome"], run["attempts"], run["tokens_in"]) == ("deterministic", 0, 0)
    assert re.fullmatch(
        r"prompt of \d+ tokens over the limit of 4096 \(MEDTRIAGE_MODEL_LONG_NOTE=skip\): "
        r"model step skipped",
        run["reason"],
    )
    assert run["fallbacks"][-1]["stage"] == "prompt"
    assert run["prompt_truncation"]["skipped"] is True
    assert "model_output" not in result.details and result.acuity == engine.acuity
    # A prompt that fits is sent whole in skip mode too.
    short = HUGE.model_copy(update={"note": FIRST})
    assert model.runner is not None
    fitted = model.runner.fit(short, assess_case(short))
    assert fitted.messages is not None and fitted.record() is None


def test_a_limit_too_small_for_the_case_without_its_note_skips_the_model(
    loaded, tmp_path, monkeypatch
):
    model = pipeline(loaded, tmp_path, 200, monkeypatch)
    run = model.analyze(HUGE).details["model_run"]
    assert run["outcome"] == "deterministic" and run["attempts"] == 0
    assert "(too long even with the note left out): model step skipped" in run["reason"]
