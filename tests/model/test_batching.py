"""Batching on the real Gemma 3 270M: a padded batch gives each case the answer it gets alone,
with its own tokens and timings, and the model pipeline's batch path stores one verdict per
case. Structure only, never clinical content."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.clinical.engine import assess_case
from shared.config import Settings
from shared.inference.backend import GenerationRequest
from shared.inference.chain import LoadedChain
from shared.inference.local import TransformersBackend
from shared.inference.profiles import get_profile
from shared.inference.prompt import messages, output_schema
from shared.pipelines.model import ModelPipeline
from shared.safety.schema import ModelTriageOutput
from shared.schemas import CaseIn
from tests.model.cases import ANKLE, CHEST_PAIN

FEVER = CaseIn(
    age_years=71,
    chief_complaint="fever",
    note="Fever and rigors for one day, burning on passing urine, confused this morning.",
    vitals={"heart_rate": 118, "temperature_c": 39.1},
)
CASES = [CHEST_PAIN, ANKLE, FEVER]  # prompts of different lengths: the batch pads them


@pytest.fixture(scope="module")
def float32(small_gemma_folder):
    """float32: a padded batch then computes each row exactly as alone (see README)."""
    profile = replace(get_profile("gemma3-270m", max_new_tokens=160), dtype="float32")
    backend = TransformersBackend(profile, small_gemma_folder, "cpu", 1)
    return backend, backend.load()


def test_a_padded_batch_answers_each_case_as_one_by_one(float32):
    backend, identity = float32
    assert identity.dtype == "float32"
    requests = [GenerationRequest(messages(c, assess_case(c)), 48, output_schema()) for c in CASES]
    alone = [backend.generate(r) for r in requests]
    together = backend.generate_batch(requests)
    assert len({g.tokens_in for g in alone}) == 3  # three lengths: two rows were padded
    for single, batched in zip(alone, together, strict=True):
        assert not isinstance(batched, Exception)
        assert batched.text == single.text and batched.text.startswith('{"summary": "')
        assert (batched.tokens_in, batched.tokens_out, batched.finish_reason) == (
            single.tokens_in, single.tokens_out, single.finish_reason,
        )  # fmt: skip
        assert batched.batch_size == 3 and single.batch_size == 1
        assert {"prompt", "grammar", "prefill", "decode"} <= set(batched.timings_ms)


def test_one_prompt_over_the_limit_fails_alone(float32, monkeypatch):
    backend, _ = float32
    monkeypatch.setattr(backend, "profile", replace(backend.profile, max_input_tokens=300))
    requests = [GenerationRequest(messages(c, assess_case(c)), 8, None) for c in CASES]
    answers = backend.generate_batch(requests)
    # CHEST_PAIN's and FEVER's prompts are over 300 tokens, ANKLE's is not.
    names = [type(a).__name__ for a in answers]
    assert names == ["GenerationError", "Generation", "GenerationError"]
    assert "exceeds the limit of 300" in str(answers[0])
    assert not isinstance(answers[1], Exception)
    assert answers[1].tokens_out == 8 and answers[1].batch_size == 1


def test_model_pipeline_batch_gives_the_one_by_one_verdicts(float32, tmp_path):
    backend, identity = float32
    model = ModelPipeline(
        Settings(instance_path=tmp_path, model_cache_size=0),
        chain=LoadedChain(backend, identity, load_ms=1.0),
    )
    together = model.analyze_many(CASES)
    alone = [model.analyze(case) for case in CASES]
    for case, batched, single in zip(CASES, together, alone, strict=True):
        run, one = batched.details["model_run"], single.details["model_run"]
        assert run["batch_size"] == 3 and one["batch_size"] == 1
        assert (run["outcome"], run["attempts"], run["reason"]) == (
            one["outcome"], one["attempts"], one["reason"],
        )  # fmt: skip
        assert run["raw_outputs"] == one["raw_outputs"]
        assert (run["tokens_in"], run["tokens_out"]) == (one["tokens_in"], one["tokens_out"])
        assert batched.details.get("model_output") == single.details.get("model_output")
        assert batched.acuity == single.acuity <= model.engine.analyze(case).acuity
        if run["outcome"] != "deterministic":
            ModelTriageOutput.model_validate_json(run["raw_outputs"][-1])
    assert any(r.details["model_run"]["outcome"] != "deterministic" for r in together)
