"""The openai-compatible backend against a real local HTTP server: the protocol vLLM speaks,
schema-constrained requests, and what happens on timeouts, 5xx and invalid JSON."""

from __future__ import annotations

import json

import pytest

from shared.config import Settings
from shared.inference.backend import ModelLoadError
from shared.inference.chain import load_chain
from shared.pipelines.model import model_columns
from shared.safety.schema import ModelTriageOutput
from tests.model.cases import ANKLE
from tests.model.chat_server import ROOT, Answer, served_pipeline


def output(acuity: int) -> str:
    return ModelTriageOutput(
        summary="Twisted right ankle playing football, walking with a limp.",
        key_findings=[{"finding": "ankle injury", "evidence": "Twisted right ankle"}],
        next_steps=["Consider an ankle examination."],
        suggested_acuity=acuity,
        acuity_reason="Limb injury with weight bearing.",
        uncertainties=["No pain score documented."],
    ).model_dump_json()


def test_served_model_answers_constrained_json_through_the_safety_layers(server, tmp_path):
    server.answers = [Answer(text="OK"), Answer(text=output(2))]  # warm-up, then the case
    model = served_pipeline(server, tmp_path)
    engine = model.engine.analyze(ANKLE)
    assert engine.acuity > 2
    result = model.analyze(ANKLE)
    run = result.details["model_run"]
    assert run["outcome"] == "model" and run["revision"] == f"server:{ROOT}"
    assert (run["tokens_in"], run["tokens_out"]) == (321, 45) and "server" in run["timings_ms"]
    # The model may make it more urgent: applied, never the other way.
    assert int(result.acuity) == 2 and result.details["model_output"]["applied_acuity"] == 2
    assert model_columns(result)["model_backend"] == "openai-compatible"
    sent = server.requests[-1]
    assert sent["model"] == "medgemma-4b" and sent["temperature"] == 0
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["required"][0] == "summary"
    assert [m["role"] for m in sent["messages"]] == ["user"]  # Gemma: no system role


def test_less_urgent_suggestion_is_shown_not_applied(server, tmp_path):
    server.answers = [Answer(text="OK"), Answer(text=output(5))]
    model = served_pipeline(server, tmp_path)
    engine = model.engine.analyze(ANKLE)
    result = model.analyze(ANKLE)
    safe = result.details["model_output"]
    assert int(engine.acuity) < 5
    assert safe["disagreement"] and safe["applied_acuity"] == int(engine.acuity)
    assert result.acuity == engine.acuity


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ([Answer(status=503)] * 3, "model call failed: server answered HTTP 503"),
        (
            [Answer(text='{"summary": "cut', finish_reason="length")] * 2,
            "invalid after repair: output cut off by the token limit",
        ),
        (
            [Answer(text="not json at all")] * 2,
            "invalid after repair: not valid JSON (Expecting value)",
        ),
        (
            [Answer(text=json.dumps({"summary": "x"}))] * 2,
            "invalid after repair: does not fit the schema (key_findings: missing; "
            "next_steps: missing; suggested_acuity: missing)",
        ),
    ],
)
def test_server_failures_leave_the_engine_standing_with_the_reason(
    server, tmp_path, answers, reason
):
    server.answers = [Answer(text="OK"), *answers]
    model = served_pipeline(server, tmp_path, model_retries=2)
    result = model.analyze(ANKLE)
    run = result.details["model_run"]
    assert (run["outcome"], run["reason"]) == ("deterministic", reason)
    assert result.acuity == model.engine.analyze(ANKLE).acuity
    assert "model_output" not in result.details
    assert len(server.requests) == 1 + len(answers)  # 5xx retried twice; bad JSON repaired once


def test_invalid_json_once_then_repaired(server, tmp_path):
    server.answers = [Answer(text="OK"), Answer(text="{oops"), Answer(text=output(3))]
    result = served_pipeline(server, tmp_path).analyze(ANKLE)
    run = result.details["model_run"]
    assert (run["outcome"], run["attempts"]) == ("repaired", 2)
    assert "previous answer could not be used (not valid JSON" in json.dumps(
        server.requests[-1]["messages"]
    )
    assert result.details["model_output"]["confidence"] < 0.95


def test_timeout_is_a_recorded_fallback(server, tmp_path):
    server.answers = [Answer(text="OK"), Answer(text=output(3), delay_s=3)]
    model = served_pipeline(server, tmp_path, model_timeout_s=0.5)
    run = model.analyze(ANKLE).details["model_run"]
    assert run["reason"] == f"model call failed: no answer from {server.base_url} in time"


def test_unserved_model_or_no_server_is_a_startup_error(server, tmp_path):
    settings = Settings(instance_path=tmp_path, model_chain="medgemma-27b-vllm",
                        model_base_url=server.base_url, model_retries=0)  # fmt: skip
    with pytest.raises(ModelLoadError, match="does not serve 'medgemma-27b'"):
        load_chain(settings)
    server.stop()
    chain = load_chain(
        settings.model_copy(update={"model_chain": "medgemma-4b-vllm,deterministic"})
    )
    assert chain.backend is None
    assert chain.fallbacks[0].reason.startswith(
        f"model server {server.base_url}: APIConnectionError"
    )


def test_the_cache_keeps_verdicts_but_never_a_failed_call(server, tmp_path):
    server.answers = [Answer(text="OK"), Answer(status=503), Answer(text="nope"),
                      Answer(text="nope")]  # fmt: skip
    model = served_pipeline(server, tmp_path)
    first = model.analyze(ANKLE).details["model_run"]
    assert first["reason"] == "model call failed: server answered HTTP 503"
    second = model.analyze(ANKLE).details["model_run"]  # the server is asked again
    assert not second["cache_hit"] and second["attempts"] == 2
    assert second["reason"].startswith("invalid after repair: not valid JSON")
    asked = len(server.requests)
    third = model.analyze(ANKLE).details["model_run"]  # the same verdict, no request
    assert third["cache_hit"] and len(server.requests) == asked
    assert (third["reason"], third["raw_outputs"]) == (second["reason"], ["nope", "nope"])
