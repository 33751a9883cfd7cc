"""Random weights in the real MedGemma architectures (built here in seconds): the multimodal
class and its processor, 8-bit and 4-bit bitsandbytes loads on the CPU with the vision tower,
projector and output head left alone, and the fallback chain over missing and broken folders.
Never a statement about content: the weights are random."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.clinical.engine import assess_case
from shared.config import Settings
from shared.inference.backend import GenerationRequest, ModelLoadError
from shared.inference.chain import load_chain
from shared.inference.local import TransformersBackend
from shared.inference.profiles import get_profile
from shared.inference.prompt import messages, output_schema
from shared.pipelines.model import ModelPipeline
from tests.model.cases import ANKLE
from tests.support.models import tiny_gemma_causal, tiny_medgemma


@pytest.fixture(scope="module")
def medgemma_folder(tmp_path_factory) -> Path:
    return tiny_medgemma(tmp_path_factory.mktemp("models") / "medgemma-4b-it")


@pytest.fixture(scope="module")
def causal_folder(tmp_path_factory) -> Path:
    return tiny_gemma_causal(tmp_path_factory.mktemp("models") / "gemma-local")


def backend(folder: Path, profile: str, quantization: str = "") -> TransformersBackend:
    return TransformersBackend(get_profile(profile, quantization), folder, "cpu", 1)


def test_medgemma_class_and_processor(medgemma_folder):
    tiny = backend(medgemma_folder, "medgemma-4b")
    identity = tiny.load()
    assert type(tiny.model).__name__ == "Gemma3ForConditionalGeneration"
    assert type(tiny.processor).__name__ == "Gemma3Processor"
    assert identity.dtype == "bfloat16" and identity.model_id == "google/medgemma-4b-it"
    # The padded vocabulary comes from the nested text config (no top-level vocab_size).
    assert tiny.vocab_size == tiny.model.config.text_config.vocab_size
    request = GenerationRequest(messages(ANKLE, assess_case(ANKLE)), 6, output_schema())
    out = tiny.generate(request)
    assert out.tokens_out == 6 and out.text.startswith('{"')  # the grammar holds random weights


@pytest.mark.parametrize(
    ("quantization", "layer"), [("8bit", "Linear8bitLt"), ("4bit", "Linear4bit")]
)
def test_bitsandbytes_on_cpu_keeps_vision_and_head(medgemma_folder, quantization, layer):
    tiny = backend(medgemma_folder, "medgemma-4b", quantization)
    identity = tiny.load()
    assert identity.quantization == quantization and identity.dtype == "bfloat16"
    kinds = {name: type(module).__name__ for name, module in tiny.model.named_modules()}
    language = [k for n, k in kinds.items() if "language_model" in n and n.endswith("q_proj")]
    assert language and set(language) == {layer}
    kept = [k for n, k in kinds.items() if "vision_tower" in n and n.endswith("q_proj")]
    assert kept and set(kept) == {"Linear"}
    assert kinds["lm_head"] == "Linear"
    if quantization == "4bit":  # nf4 with bf16 compute, or Gemma's output comes out empty
        config = tiny.model.config.quantization_config
        assert (config.bnb_4bit_quant_type, str(config.bnb_4bit_compute_dtype)) == (
            "nf4",
            "torch.bfloat16",
        )
    out = tiny.generate(GenerationRequest(messages(ANKLE, assess_case(ANKLE)), 3, None))
    assert out.tokens_out == 3


def chain_settings(tmp_path: Path, chain: str, models: Path, **extra) -> Settings:
    return Settings(instance_path=tmp_path, model_chain=chain, models_dir=str(models),
                    device="cpu", model_threads=1, **extra)  # fmt: skip


def test_missing_and_broken_folders_are_recorded_then_the_next_loads(tmp_path, causal_folder):
    models = causal_folder.parent  # holds gemma-local; no medgemma folders
    broken = models / "medgemma-4b-it"
    broken.mkdir(exist_ok=True)
    (broken / "config.json").write_text("{not json")
    settings = chain_settings(tmp_path, "medgemma-27b-text,medgemma-4b,gemma-local", models)
    chain = load_chain(settings)
    assert chain.model is not None and chain.model.profile == "gemma-local"
    assert type(chain.backend.model).__name__ == "Gemma3ForCausalLM"
    reasons = {f.profile: f.reason for f in chain.fallbacks}
    assert reasons["medgemma-27b-text"] == (
        f"model folder {models / 'medgemma-27b-text-it'} does not exist "
        "(see README: placing weights)"
    )
    assert reasons["medgemma-4b"].startswith(f"model folder {broken}: config.json is not JSON")
    assert chain.warmup_ms > 0
    result = ModelPipeline(settings, chain=chain).analyze(ANKLE)
    recorded = result.details["model_run"]["fallbacks"]
    assert [f["profile"] for f in recorded][:2] == ["medgemma-27b-text", "medgemma-4b"]


def test_nothing_loads_is_a_startup_error_unless_deterministic_is_allowed(tmp_path):
    empty = tmp_path / "models"
    (empty / "gemma-local").mkdir(parents=True)
    (empty / "gemma-local" / "config.json").write_text(
        json.dumps({"architectures": ["Gemma3ForCausalLM"]})
    )
    with pytest.raises(ModelLoadError) as error:
        load_chain(chain_settings(tmp_path, "medgemma-4b-4bit,gemma-local", empty))
    assert "medgemma-4b-4bit: model folder" in str(error.value)
    assert "gemma-local: model folder" in str(error.value) and "has no weights" in str(error.value)

    settings = chain_settings(tmp_path, "medgemma-4b-4bit,deterministic", empty)
    pipeline = ModelPipeline(settings)
    result = pipeline.analyze(ANKLE)
    run = result.details["model_run"]
    assert run["outcome"] == "deterministic" and run["model_id"] is None
    assert run["reason"].startswith("no model loaded: medgemma-4b-4bit: model folder")
    assert result.acuity == pipeline.engine.analyze(ANKLE).acuity
    assert "model_output" not in result.details


def test_a_folder_without_a_chat_template_is_refused(tmp_path, causal_folder):
    import shutil

    copy = tmp_path / "gemma-local"
    shutil.copytree(causal_folder, copy)
    (copy / "chat_template.jinja").unlink()
    config = json.loads((copy / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (copy / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="has no chat template"):
        backend(copy, "gemma-local").load()
