"""A batch of cases against a real OpenAI-compatible server: the requests go concurrently (so
vLLM's continuous batching sees them together), never more than the configured bound, and
each request's failure stays its own case's."""

from __future__ import annotations

from shared.safety.schema import ModelTriageOutput
from tests.model.cases import ANKLE
from tests.model.chat_server import Answer, served_pipeline

CASES = [ANKLE.model_copy(update={"note": f"{ANKLE.note} Seen at {h}:00."}) for h in range(5)]
VALID = ModelTriageOutput(
    summary="Twisted right ankle playing football, walking with a limp.",
    key_findings=[{"finding": "ankle injury", "evidence": "Twisted right ankle"}],
    next_steps=["Consider an ankle examination."],
    suggested_acuity=4,
    acuity_reason="Limb injury with weight bearing.",
    uncertainties=["No pain score documented."],
).model_dump_json()


def test_a_batch_goes_concurrently_within_the_bound(server, tmp_path):
    server.answers = [Answer(text="OK")] + [Answer(text=VALID, delay_s=0.4)] * len(CASES)
    model = served_pipeline(server, tmp_path, model_server_concurrency=2)
    results = model.analyze_many(CASES)
    assert server.peak_in_flight == 2  # together, and never more than the bound
    assert len(server.requests) == 1 + len(CASES)
    for result in results:
        run = result.details["model_run"]
        assert (run["outcome"], run["batch_size"], run["tokens_in"]) == ("model", 5, 321)
        assert result.details["model_output"]["summary"].startswith("Twisted right ankle")
    sent = sorted(str(r["messages"]) for r in server.requests[1:])
    assert all(f"Seen at {h}:00." in text for h, text in enumerate(sent))  # one each


def test_a_failed_request_fails_its_own_case_only(server, tmp_path):
    server.answers = [Answer(text="OK"), Answer(text=VALID, delay_s=0.2), Answer(status=500),
                      Answer(text=VALID, delay_s=0.2)]  # fmt: skip
    model = served_pipeline(server, tmp_path, model_server_concurrency=3)
    runs = [r.details["model_run"] for r in model.analyze_many(CASES[:3])]
    assert sorted(r["outcome"] for r in runs) == ["deterministic", "model", "model"]
    (failed,) = [r for r in runs if r["outcome"] == "deterministic"]
    assert failed["reason"] == "model call failed: server answered HTTP 500"
    assert failed["fallbacks"][-1]["stage"] == "generate"


def test_one_at_a_time_when_the_bound_is_one(server, tmp_path):
    server.answers = [Answer(text="OK")] + [Answer(text=VALID, delay_s=0.1)] * 3
    results = served_pipeline(server, tmp_path, model_server_concurrency=1).analyze_many(CASES[:3])
    assert server.peak_in_flight == 1
    assert [r.details["model_run"]["outcome"] for r in results] == ["model"] * 3


def test_medtriage_analyze_sends_the_lines_to_the_model_in_batches(server, tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from shared.cli import main
    from shared.config import get_settings

    for name, value in {"PIPELINE": "model-text", "MODEL_CHAIN": "medgemma-4b-vllm",
                        "MODEL_RETRIES": "0", "MODEL_BASE_URL": server.base_url,
                        "MODEL_BATCH_SIZE": "2", "MODEL_SERVER_CONCURRENCY": "2",
                        "INSTANCE_PATH": str(tmp_path / "instance")}.items():  # fmt: skip
        monkeypatch.setenv(f"MEDTRIAGE_{name}", value)
    get_settings.cache_clear()
    server.answers = [Answer(text="OK")] + [Answer(text=VALID, delay_s=0.3)] * 3
    lines = [c.model_dump(mode="json", exclude_none=True) for c in CASES[:3]]
    lines.insert(1, {"age_years": 30})  # no chief complaint: that line's error, in its place
    source, out = tmp_path / "cases.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    try:
        result = CliRunner().invoke(main, ["analyze", "--in", str(source), "--out", str(out)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["line"] for r in records] == [1, 2, 3, 4]
    assert "chief_complaint" in records[1]["error"] and "result" not in records[1]
    runs = [records[i]["result"]["details"]["model_run"] for i in (0, 2, 3)]
    assert [r["outcome"] for r in runs] == ["model"] * 3
    assert [r["batch_size"] for r in runs] == [2, 2, 1]  # two cases together, then the last
    assert server.peak_in_flight == 2 and len(server.requests) == 4
    assert "Seen at 2:00." in str(server.requests[-1]["messages"])  # the last line, alone
    assert "3 lines" not in result.output and "4 lines in" in result.output
