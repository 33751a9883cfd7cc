"""The real path on the real Gemma 3 270M (base model): loading, chat template, constrained
generation, validation, repair, safety, metadata and cache. Structure only: a 270M base model
says nothing clinically useful, and nothing here asserts that it does."""

from __future__ import annotations

import pytest

from shared.clinical.engine import assess_case
from shared.config import Settings
from shared.inference.backend import GenerationRequest, folder_revision
from shared.inference.chain import LoadedChain
from shared.inference.local import TransformersBackend
from shared.inference.profiles import get_profile
from shared.inference.prompt import INSTRUCTION, messages
from shared.inference.structured import OutputCache
from shared.pipelines.model import ModelPipeline, model_columns
from shared.safety.schema import SAFETY_DISCLAIMER, ModelTriageOutput
from tests.model.cases import ANKLE, CHEST_PAIN

TOKENS = 160  # the first answer runs into it; the compact repair fits (greedy: repeatable)


@pytest.fixture(scope="module")
def loaded(small_gemma_folder):
    backend = TransformersBackend(
        get_profile("gemma3-270m", max_new_tokens=TOKENS), small_gemma_folder, "cpu", 1
    )
    return backend, backend.load()


def pipeline(loaded, tmp_path, **settings) -> ModelPipeline:
    backend, identity = loaded
    chain = LoadedChain(backend, identity, load_ms=1.0)
    return ModelPipeline(Settings(instance_path=tmp_path, **settings), chain=chain)


def test_loads_offline_in_bf16_with_gemma_turns(loaded, small_gemma_folder):
    backend, identity = loaded
    assert (identity.dtype, identity.device, identity.quantization) == ("bfloat16", "cpu", "none")
    assert identity.revision == folder_revision(small_gemma_folder)
    assert identity.library_versions["torch"].startswith("2.")
    text = backend.tokenizer.apply_chat_template(
        messages(CHEST_PAIN, assess_case(CHEST_PAIN)), add_generation_prompt=True, tokenize=False
    )
    # No system role: the instruction opens the one user turn; the model's turn is next.
    assert text.startswith("<bos><start_of_turn>user\n" + INSTRUCTION[:40])
    assert "system" not in text.split("\n")[0]
    assert text.endswith("<end_of_turn>\n<start_of_turn>model\n")
    assert "Chief complaint: chest pain" in text and "heart rate (/min) 110" in text


def test_unconstrained_base_model_does_not_write_the_schema(loaded):
    backend, _ = loaded
    out = backend.generate(GenerationRequest(messages(ANKLE, assess_case(ANKLE)), 12, None))
    assert out.tokens_out == 12 and out.finish_reason == "length"
    with pytest.raises(ValueError):
        ModelTriageOutput.model_validate_json(out.text)


def test_model_pipeline_constrained_repaired_safe_and_cached(loaded, tmp_path):
    model = pipeline(loaded, tmp_path)
    engine = model.engine.analyze(CHEST_PAIN)
    result = model.analyze(CHEST_PAIN)
    run = result.details["model_run"]
    assert run["outcome"] in ("model", "repaired"), run["reason"]
    # Whatever it wrote went through the five safety layers and never lowered the level.
    safe = result.details["model_output"]
    assert safe["disclaimer"] == SAFETY_DISCLAIMER
    assert safe["ai_generated_by"].startswith("google/gemma-3-270m, version 3")
    assert "Gemma Terms of Use" in safe["licence_notice"]
    assert result.acuity <= engine.acuity
    assert safe["applied_acuity"] == min(int(engine.acuity), safe["suggested_acuity"])
    ModelTriageOutput.model_validate_json(run["raw_outputs"][-1])
    # Metadata: what ran, how long each stage took, tokens, and the queryable columns.
    assert run["prompt_version"] and run["constrained"] is True and not run["cache_hit"]
    assert run["tokens_in"] > 100 and 0 < run["tokens_out"] <= 2 * TOKENS
    assert {"prompt", "prefill", "decode", "validation", "safety"} <= set(run["timings_ms"])
    assert model_columns(result) == {
        "model_id": "google/gemma-3-270m",
        "model_revision": run["revision"],
        "model_backend": "transformers",
        "model_quantization": "none",
    }
    assert result.pipeline == "model-text" and result.models[-1].dtype == "bfloat16"

    again = model.analyze(CHEST_PAIN)
    cached = again.details["model_run"]
    assert cached["cache_hit"] and cached["tokens_out"] == 0
    assert again.details["model_output"]["summary"] == safe["summary"]
    # Re-assessment with new vital signs is another prompt: it can never be the same entry.
    changed = CHEST_PAIN.model_copy(update={"vitals": CHEST_PAIN.vitals.model_copy(
        update={"heart_rate": 130})})  # fmt: skip
    keys = {
        OutputCache.key(model.chain.model, messages(c, assess_case(c)), True)
        for c in (CHEST_PAIN, changed)
    }
    assert len(keys) == 2


def test_cut_off_twice_the_engine_stands_and_says_why(loaded, tmp_path):
    model = pipeline(loaded, tmp_path, model_cache_size=0)
    model.runner.max_new_tokens = 16  # too few for any valid object
    result = model.analyze(ANKLE)
    run = result.details["model_run"]
    assert run["outcome"] == "deterministic" and run["attempts"] == 2
    assert run["reason"] == "invalid after repair: output cut off by the token limit"
    assert run["fallbacks"][-1]["stage"] == "generate"
    assert "model_output" not in result.details
    assert result.acuity == model.engine.analyze(ANKLE).acuity
