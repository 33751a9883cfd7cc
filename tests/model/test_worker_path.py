"""End to end with the real small Gemma 3: intake over the API, a real Celery worker that
loads the model once after the fork and warms it up, the model pipeline, the stored result
with its model columns, and the board."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.db import Result
from tests.model.cases import CHEST_PAIN
from tests.support.cases import submit, wait_analyzed
from tests.support.models import CACHE, SMALL_GEMMA
from tests.support.services import WorkerProcess

pytestmark = pytest.mark.integration


@pytest.fixture
def model_worker(settings, small_gemma_folder, tmp_path):
    model_settings = settings.model_copy(update={
        "pipeline": "model-text", "model_chain": SMALL_GEMMA, "models_dir": str(CACHE),
        "device": "cpu", "model_threads": 1, "model_max_new_tokens": 160,
        "task_soft_time_limit_s": 1500, "task_time_limit_s": 1600,
    })  # fmt: skip
    process = WorkerProcess(model_settings, tmp_path)
    yield process
    process.stop()


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_case_goes_through_the_model_worker_to_the_board(client, staff, sessions, model_worker):
    # The in-process test's case: greedy decoding gives the same (valid) answer here.
    body = CHEST_PAIN.model_dump(mode="json", exclude_none=True)
    case = submit(client, staff["nurse"].token, body)
    model_worker.start()
    wait_analyzed(sessions, [case["id"]], timeout=900)

    log = model_worker.log()
    assert log.count("model profile gemma3-270m loaded") == 1
    with sessions() as session:
        row = session.scalars(select(Result)).one()
        by_revision = session.scalars(
            select(Result.id).where(Result.model_revision == row.model_revision)
        ).all()
    assert (row.model_id, row.model_backend, row.model_quantization) == (
        "google/gemma-3-270m", "transformers", "none",
    )  # fmt: skip
    assert row.model_revision.startswith("local-") and by_revision == [row.id]
    assert row.pipeline == "model-text" and "google/gemma-3-270m" in row.model_ids

    headers = {"Authorization": f"Bearer {staff['clinician'].token}"}
    result = client.get(case["url"], headers=headers).get_json()["result"]
    run = result["details"]["model_run"]
    assert run["load_ms"] > 0 and run["warmup_ms"] > 0 and run["device"] == "cpu"
    assert run["outcome"] in ("model", "repaired"), run["reason"]
    shown = result["details"]["model_output"]
    assert shown["disclaimer"] in result["safety_disclaimer"]
    assert shown["ai_generated_by"].startswith("google/gemma-3-270m")
    assert result["acuity"] <= case["provisional_acuity"]

    (row_on_board,) = client.get("/api/v1/board", headers=headers).get_json()["rows"]
    assert row_on_board["id"] == case["id"] and row_on_board["status"] == "analyzed"
    assert row_on_board["acuity"] == result["acuity"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_model_that_cannot_load_stops_the_worker_naming_the_folder(settings, tmp_path):
    broken = settings.model_copy(update={
        "pipeline": "model-text", "model_chain": "medgemma-4b-4bit",
        "models_dir": str(tmp_path / "models"),
    })  # fmt: skip
    process = WorkerProcess(broken, tmp_path)
    try:
        process.start(wait=False)
        assert process.process is not None
        process.process.wait(timeout=120)
    finally:
        process.stop()
    log = process.log()
    assert "pipeline model-text cannot start" in log
    assert f"model folder {tmp_path / 'models' / 'medgemma-4b-it'} does not exist" in log
