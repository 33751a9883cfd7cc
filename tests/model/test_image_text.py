"""Image + text: the real MedGemma multimodal class (tiny random weights built here) and a
chat-completions server (the protocol vLLM speaks). The prompt puts each image at its
placeholder, decoding is constrained to the schema, the output is checked by the safety
layers, and a server receives the images as data URIs. Never a statement about content."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shared.clinical.engine import assess_case
from shared.config import Settings
from shared.inference.backend import GenerationRequest, ModelLoadError
from shared.inference.image_prompt import PromptImage, messages
from shared.inference.local import TransformersBackend
from shared.inference.multimodal import load_image_text_chain
from shared.inference.profiles import UnknownProfileError, get_profile
from shared.pipelines.multimodal import ImageTextModel, as_rgb
from shared.safety.image_schema import ImageFacts, ModelImageTextOutput
from shared.safety.schema import SAFETY_DISCLAIMER
from tests.model.cases import ANKLE, image_reading
from tests.model.chat_server import ROOT, Answer
from tests.support.models import tiny_medgemma


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    models = tmp_path_factory.mktemp("models")
    tiny_medgemma(models / "medgemma-4b-it")
    return models


def picture(side: str | None = "R", size: tuple[int, int] = (64, 48), seed: int = 1):  # type: ignore[no-untyped-def]
    pixels = np.random.default_rng(seed).integers(0, 255, (size[1], size[0]), dtype=np.uint8)
    facts = ImageFacts(number=1, image_type="xray", kind="dicom", modality="CR",
                       body_part="ANKLE", laterality=side, quality_verdict="usable")  # fmt: skip
    return PromptImage(as_rgb(pixels), f"sha-{seed}-{size}", facts)


def settings_for(tmp_path: Path, chain: str, **extra) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(instance_path=tmp_path, multimodal_chain=chain, device="cpu",
                    model_threads=1, **extra)  # fmt: skip


def test_the_prompt_puts_each_image_at_its_placeholder(models_dir):
    backend = TransformersBackend(get_profile("medgemma-4b"), models_dir / "medgemma-4b-it",
                                  "cpu", 1)  # fmt: skip
    backend.load()
    second = picture("L", seed=2)
    second = PromptImage(second.pil, second.sha256, second.facts.model_copy(update={"number": 2}))
    prompt = messages(ANKLE, assess_case(ANKLE), [picture(), second], "transformers")
    inputs = backend.encode(GenerationRequest(prompt, 8))
    ids = inputs["input_ids"][0].tolist()
    tokens = {t: backend.tokenizer.convert_tokens_to_ids(t)
              for t in ("<start_of_image>", "<image_soft_token>", "<end_of_image>")}  # fmt: skip
    # The processor expands each placeholder to the model's image tokens (4 in the tiny one).
    assert ids.count(tokens["<start_of_image>"]) == 2 == ids.count(tokens["<end_of_image>"])
    assert ids.count(tokens["<image_soft_token>"]) == 2 * 4
    assert tuple(inputs["pixel_values"].shape) == (2, 3, 28, 28)
    text = backend.tokenizer.decode(ids)
    assert text.index("<start_of_image>") < text.index("You assist emergency triage staff")
    assert "Image 1: xray (DICOM), modality CR, body part ANKLE, labelled right" in text
    assert "Image 2: xray (DICOM), modality CR, body part ANKLE, labelled left" in text
    assert ANKLE.note.split(".")[0] in text and "Rule-based triage engine" in text


def test_constrained_generation_writes_a_valid_object_through_the_safety_layers(
    models_dir, tmp_path
):
    settings = settings_for(tmp_path, "medgemma-4b", models_dir=str(models_dir),
                            model_max_new_tokens=600)  # fmt: skip
    model = ImageTextModel(settings, load_image_text_chain(settings))
    assessment = assess_case(ANKLE)
    safe, run = model.analyze(ANKLE, assessment, [picture()], assessment.acuity)
    # Random weights under the grammar: the first answer may run into the token limit; the
    # repair's tighter schema then fits. Either way the object is valid JSON of the schema.
    assert run.outcome in ("model", "repaired"), run.reason
    ModelImageTextOutput.model_validate_json(run.raw_outputs[-1])
    assert safe is not None and safe.disclaimer == SAFETY_DISCLAIMER
    assert safe.applied_acuity <= int(assessment.acuity)
    assert safe.ai_generated_by.startswith("google/medgemma-4b-it, version 1.0")
    assert (run.model_id, run.backend, run.dtype) == (
        "google/medgemma-4b-it", "transformers", "bfloat16",
    )  # fmt: skip
    assert run.revision and run.revision.startswith("local-")
    assert run.images_sent == [1] and run.tokens_in > 4 and run.warmup_ms > 0
    assert run.prompt_version == "image-text-json-v1"
    _, cached = model.analyze(ANKLE, assessment, [picture()], assessment.acuity)
    assert cached.cache_hit and cached.raw_outputs == run.raw_outputs
    _, fresh = model.analyze(ANKLE, assessment, [picture(seed=5)], assessment.acuity)
    assert not fresh.cache_hit  # other pixels, never the cached answer


def test_text_only_profiles_and_missing_folders(tmp_path):
    with pytest.raises(UnknownProfileError, match="does not take images"):
        load_image_text_chain(settings_for(tmp_path, "medgemma-27b-text"))
    empty = str(tmp_path / "models")
    with pytest.raises(ModelLoadError, match=r"medgemma-4b-4bit: model folder .* does not exist"):
        load_image_text_chain(settings_for(tmp_path, "medgemma-4b-4bit", models_dir=empty))
    settings = settings_for(tmp_path, "medgemma-4b-4bit,deterministic", models_dir=empty)
    model = ImageTextModel(settings, load_image_text_chain(settings))
    assessment = assess_case(ANKLE)
    safe, run = model.analyze(ANKLE, assessment, [picture()], assessment.acuity)
    assert safe is None and run.model_id is None
    assert run.reason.startswith("no image+text model loaded: medgemma-4b-4bit: model folder")


def test_the_server_gets_each_image_as_a_data_uri_and_the_schema(server, tmp_path):
    server.answers = [Answer(text="OK"), Answer(text=image_reading())]  # warm-up, then the case
    settings = settings_for(tmp_path, "medgemma-4b-vllm", model_base_url=server.base_url,
                            model_retries=0)  # fmt: skip
    model = ImageTextModel(settings, load_image_text_chain(settings))
    assessment = assess_case(ANKLE)
    large = picture(size=(1200, 900))
    safe, run = model.analyze(ANKLE, assessment, [large], assessment.acuity)
    sent = server.requests[-1]
    (message,) = sent["messages"]
    assert message["role"] == "user"  # Gemma: no system role
    assert [p["type"] for p in message["content"]] == ["image_url", "text"]
    assert message["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert len(server.images) == 2  # the warm-up sent one too
    with Image.open(io.BytesIO(server.images[-1])) as received:
        assert (received.format, received.size) == ("PNG", (896, 672))  # MedGemma reads 896
    schema = sent["response_format"]["json_schema"]["schema"]
    assert sent["response_format"]["type"] == "json_schema" and sent["temperature"] == 0
    assert schema["title"] == "ModelImageTextOutput" and "image_observations" in schema["required"]
    assert (run.outcome, run.revision, run.tokens_in) == ("model", f"server:{ROOT}", 321)
    # The side the image is not labelled is withheld; the other observation stays.
    assert safe is not None
    assert [o.text for o in safe.image_observations] == [
        "Soft tissue swelling over the lateral malleolus."
    ]
    assert int(assessment.acuity) > 3 and safe.applied_acuity == 3


def test_a_server_refusal_or_bad_answer_leaves_the_rules_standing(server, tmp_path):
    server.answers = [Answer(text="OK"), Answer(status=400)]
    settings = settings_for(tmp_path, "medgemma-4b-vllm", model_base_url=server.base_url,
                            model_retries=0)  # fmt: skip
    model = ImageTextModel(settings, load_image_text_chain(settings))
    assessment = assess_case(ANKLE)
    safe, run = model.analyze(ANKLE, assessment, [picture()], assessment.acuity)
    assert safe is None and run.reason == "model call failed: server answered HTTP 400"
    server.answers = [Answer(text="{oops"), Answer(text=image_reading(suggested_acuity=9))]
    safe, run = model.analyze(ANKLE, assessment, [picture(seed=3)], assessment.acuity)
    assert safe is None and run.attempts == 2
    assert run.reason.startswith("invalid after repair: does not fit the schema")
    assert "previous answer could not be used (not valid JSON" in json.dumps(
        server.requests[-1]["messages"]
    )


def test_batch_analyze_reads_a_line_with_its_image_through_the_served_model(
    server, tmp_path, monkeypatch
):
    from click.testing import CliRunner

    from shared.cli import main
    from shared.config import get_settings
    from tests.support.images import dicom_bytes, radiograph

    for name, value in {"MULTIMODAL_CHAIN": "medgemma-4b-vllm", "MODEL_RETRIES": "0",
                        "MODEL_BASE_URL": server.base_url,
                        "INSTANCE_PATH": str(tmp_path / "instance")}.items():  # fmt: skip
        monkeypatch.setenv(f"MEDTRIAGE_{name}", value)
    get_settings.cache_clear()
    server.answers = [Answer(text="OK"), Answer(text=image_reading())]
    pixels = radiograph(256).astype(np.uint16) * 16
    (tmp_path / "ankle.dcm").write_bytes(dicom_bytes(pixels, tags={"ImageLaterality": "R"}))
    source = tmp_path / "cases.jsonl"
    line = ANKLE.model_dump(mode="json", exclude_none=True)
    source.write_text(json.dumps(line | {"image_paths": ["ankle.dcm", "gone.png"]}) + "\n"
                      + json.dumps(line) + "\n")  # fmt: skip
    out = tmp_path / "out.jsonl"
    try:
        result = CliRunner().invoke(main, ["analyze", "--in", str(source), "--out", str(out)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    first, second = [json.loads(x) for x in out.read_text().splitlines()]
    assert first["images"][1]["error"] == "no such image file: gone.png"
    reading = first["image_text"]
    assert reading["run"]["outcome"] == "model" and reading["run"]["images_sent"] == [1]
    assert reading["run"]["images_left_out"] == ["gone.png"]
    assert [o["text"] for o in reading["output"]["image_observations"]] == [
        "Soft tissue swelling over the lateral malleolus."
    ]
    assert first["acuity"] == 3 < first["result"]["assessment"]["acuity"]
    assert "image_text" not in second and len(server.requests) == 2  # warm-up, one case


def test_seed_api_analyze_with_image_integrates_through_the_served_model(server, tmp_path):
    from shared.pipelines import MultimodalPipeline
    from tests.support.images import dicom_bytes, radiograph

    server.answers = [Answer(text="OK"), Answer(text=image_reading())]
    settings = settings_for(tmp_path, "medgemma-4b-vllm", model_base_url=server.base_url,
                            model_retries=0)  # fmt: skip
    dicom = dicom_bytes(radiograph(256).astype(np.uint16) * 16, tags={"ImageLaterality": "R"})
    out = MultimodalPipeline(settings).analyze_with_image(ANKLE.note, dicom, "xray", 30)
    assert out.checked is not None
    assert out.integration.startswith("integrated by google/medgemma-4b-it, version 1.0")
    assert "Health AI Developer Foundations" in out.integration
    assert out.integrated_findings[-1] == (
        "image 1 (AI): Soft tissue swelling over the lateral malleolus."
    )
    assert int(out.acuity) == 3 <= int(out.text.assessment.acuity)
    assert "google/medgemma-4b-it" in [m.name for m in out.models]
    assert out.disclaimer and out.confidence <= 0.95


def test_the_text_models_own_profile_is_shared_not_loaded_twice(server, tmp_path):
    from shared.inference.chain import load_chain

    server.answers = [Answer(text="OK")]  # one warm-up: the text chain's
    settings = settings_for(tmp_path, "medgemma-4b-vllm", model_chain="medgemma-4b-vllm",
                            model_base_url=server.base_url, model_retries=0)  # fmt: skip
    text_chain = load_chain(settings)
    image_chain = load_image_text_chain(settings, reuse=text_chain)
    assert image_chain.backend is text_chain.backend and image_chain.model == text_chain.model
    assert len(server.requests) == 1
