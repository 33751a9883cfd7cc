"""Nothing lost: worker killed mid-task, Redis down or flushed, database down, pipeline broken."""

from __future__ import annotations

import json
import os
import re
import signal
import time

import pytest
from sqlalchemy import func, select

from shared.db import AuditEvent, Case, Result
from shared.queue import message_case_id
from tests.conftest import CSRF_RE, case_body
from tests.support.cases import results_per_case, statuses, submit, wait_analyzed
from tests.support.faults import case_event_fails
from tests.support.services import WorkerProcess, wait_for
from web import create_app


def test_worker_sigkilled_mid_task_case_completes_once(client, staff, sessions, settings, tmp_path):
    slow = settings.model_copy(update={"pipeline": "tests.support.pipelines:SlowPipeline"})
    worker = WorkerProcess(slow, tmp_path)
    try:
        worker.start()
        case = submit(client, staff["nurse"].token, case_body("medium"))
        wait_for(lambda: statuses(sessions)[case["id"]] == "running", 20, "the task to start")
        worker.kill()
        assert statuses(sessions)[case["id"]] == "running"

        worker.start()
        wait_analyzed(sessions, [case["id"]], timeout=60)
    finally:
        worker.stop()
    assert results_per_case(sessions) == {case["id"]: 1}
    with sessions() as session:
        attempts = session.scalar(select(Case.attempts).where(Case.public_id == case["id"]))
    assert attempts == 2


def test_redis_down_at_intake_case_saved_then_completed(
    client, staff, sessions, redis_server, worker
):
    redis_server.stop()
    response = client.post(
        "/api/v1/cases",
        json=case_body("high"),
        headers={"Authorization": f"Bearer {staff['nurse'].token}"},
    )
    assert response.status_code == 202
    body = response.get_json()
    assert body["dispatch"] == "pending"
    assert statuses(sessions) == {body["id"]: "queued"}

    redis_server.start()  # comes back empty: it keeps nothing on disk
    worker.start()
    wait_analyzed(sessions, [body["id"]], timeout=60)
    assert results_per_case(sessions) == {body["id"]: 1}


def test_redis_flushed_with_cases_queued_all_complete(
    client, staff, sessions, redis_server, worker
):
    ids = [
        submit(client, staff["nurse"].token, case_body(r))["id"]
        for r in ("low", "high", "medium") * 3
    ]
    redis_server.client().flushall()
    worker.start()
    wait_analyzed(sessions, ids, timeout=90)
    assert set(results_per_case(sessions).values()) == {1}


def test_form_submit_with_redis_down_tells_the_nurse(client, staff, auth, redis_server, sessions):
    auth.login(staff["nurse"].username)
    page = client.get("/cases/new").get_data(as_text=True)
    redis_server.stop()
    form_token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/cases/new",
        data={
            "csrf_token": CSRF_RE.search(page).group(1),
            "form_token": form_token,
            "age_years": "40",
            "chief_complaint": "cough",
            "respiratory_rate": "18",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "analysis will start when it is back" in response.get_data(as_text=True)
    assert list(statuses(sessions).values()) == ["queued"]


def test_database_failing_during_case_creation_answers_503_and_keeps_nothing_half_written(
    client, staff, sessions, engines, settings, redis_server
):
    headers = {"Authorization": f"Bearer {staff['nurse'].token}"}
    # A first request puts the token in the app's cache: the failing request below reaches
    # case creation without a token look-up, and fails there, not at the door.
    assert client.get("/api/v1/cases/no-such-case", headers=headers).status_code == 404
    with case_event_fails(engines[settings.database_url], "outage"):
        response = client.post("/api/v1/cases", json=case_body("high"), headers=headers)
    assert response.status_code == 503
    assert "database is not available" in response.get_json()["error"]
    with sessions() as session:
        assert session.scalar(select(func.count(Case.id))) == 0  # the case row was rolled back
        assert session.scalar(select(func.count(AuditEvent.case_id))) == 0
    assert redis_server.client().dbsize() == 0  # no task message, no dispatch marker

    # The database is back: the same request is taken, and only now sent to the queue.
    again = client.post("/api/v1/cases", json=case_body("high"), headers=headers)
    assert again.status_code == 202
    assert redis_server.client().llen("triage") == 1
    assert list(statuses(sessions)) == [again.get_json()["id"]]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_database_unreachable_answers_503_and_login_page_still_renders(
    settings, staff, redis_server
):
    # Unreachable from the first request on: the token look-up itself answers 503.
    down = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/none"}
    )
    app = create_app(down, {"TESTING": True})
    response = app.test_client().post(
        "/api/v1/cases", json=case_body("low"), headers={"Authorization": "Bearer mt_x"}
    )
    assert response.status_code == 503
    assert "database is not available" in response.get_json()["error"]
    assert redis_server.client().llen("triage") == 0
    page = app.test_client().get("/login")
    assert page.status_code == 200  # the login page itself needs no database


def test_broken_pipeline_marks_case_failed_and_audits(client, staff, sessions, settings, tmp_path):
    broken = settings.model_copy(update={"pipeline": "tests.support.pipelines:BrokenPipeline"})
    worker = WorkerProcess(broken, tmp_path)
    try:
        worker.start()
        secret = "Patient says her neighbour Ms Zeta Quill-Hart hit her"
        case = submit(client, staff["nurse"].token, case_body("high", note=secret))
        wait_for(lambda: statuses(sessions)[case["id"]] == "failed", 30, "the case to fail")
    finally:
        worker.stop()
    log = worker.log()
    assert "pipeline error RuntimeError" in log
    assert "Zeta Quill-Hart" not in log  # ids only: no patient data in logs
    with sessions() as session:
        case_row = session.scalar(select(Case).where(Case.public_id == case["id"]))
        assert case_row.risk_level.value == "high"  # the provisional floor stays on the board
        assert "RuntimeError" in case_row.last_error
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.case_id == case_row.id)
        ).all()
    assert actions == ["case.submitted", "case.failed"]


def test_unknown_pipeline_fails_the_worker_at_start(settings, tmp_path):
    wrong = settings.model_copy(update={"pipeline": "no-such-pipeline"})
    worker = WorkerProcess(wrong, tmp_path)
    try:
        worker.start(wait=False)
        assert worker.process is not None
        assert worker.process.wait(timeout=60) != 0
    finally:
        worker.stop()
    assert "unknown pipeline 'no-such-pipeline'" in worker.log()


def test_case_that_keeps_dying_is_failed_after_max_attempts(client, staff, sessions, settings):
    from worker.runtime import build_runtime
    from worker.tasks import run_analysis

    case = submit(client, staff["nurse"].token, case_body("medium"))
    with sessions.begin() as session:
        row = session.scalar(select(Case).where(Case.public_id == case["id"]))
        row.attempts, case_id = settings.max_attempts, row.id
    runtime = build_runtime(settings)
    try:
        assert run_analysis(runtime, case_id) == "skipped"
    finally:
        runtime.engine.dispose()
    with sessions() as session:
        row = session.scalar(select(Case).where(Case.public_id == case["id"]))
        assert row.status.value == "failed"
        assert "did not complete in 3 attempts" in row.last_error
        assert row.risk_level.value == "medium"
    assert results_per_case(sessions) == {case["id"]: 0}


def queued_in_unacked(redis_server, sessions) -> list[str]:
    """Cases still `queued` whose message a worker has taken off its list (Redis `unacked`)."""
    unacked = redis_server.client().hvals("unacked")  # [message, exchange, routing key]
    held = {message_case_id(json.dumps(json.loads(raw)[0])) for raw in unacked}
    with sessions() as session:
        rows = session.execute(select(Case.id, Case.public_id, Case.status)).all()
    return [public for case_id, public, status in rows if case_id in held and status == "queued"]


def test_worker_main_process_sigkilled_with_a_case_prefetched_all_complete_within_a_minute(
    client, staff, sessions, settings, tmp_path, redis_server
):
    # Issue 8: the prefetched message stayed in Redis's unacked set with its dispatch marker
    # set; the reconciler trusted the marker and the case waited for the visibility timeout.
    # A worker building its pipeline (loading a model) has already taken a message: kill it
    # then, as the OOM killer would.
    slow = settings.model_copy(update={"pipeline": "tests.support.slow_start:SlowStartPipeline"})
    assert slow.visibility_timeout_s >= 3600  # recovery must not wait for the redelivery
    ids = [
        submit(client, staff["nurse"].token, case_body(r))["id"]
        for r in ("high", "medium", "high", "low", "medium")
    ]
    worker = WorkerProcess(slow, tmp_path)
    try:
        worker.start()
        wait_for(
            lambda: queued_in_unacked(redis_server, sessions), 30, "a message to be prefetched"
        )
        prefetched = queued_in_unacked(redis_server, sessions)
        assert worker.process is not None
        os.kill(worker.process.pid, signal.SIGKILL)  # the main process only
        worker.process.wait(timeout=10)
        worker.kill()  # then what a supervisor does: end the orphaned pool child
        assert queued_in_unacked(redis_server, sessions) == prefetched  # stranded

        worker.start()
        restarted = time.monotonic()
        try:
            wait_analyzed(sessions, ids, timeout=60)
        except TimeoutError:
            pytest.fail(
                f"{time.monotonic() - restarted:.0f} s after the worker's restart, not all "
                f"cases analyzed: {statuses(sessions)}; prefetched when killed: {prefetched}"
            )
    finally:
        worker.stop()
    assert results_per_case(sessions) == dict.fromkeys(ids, 1)
    with sessions() as session:
        keys = session.execute(select(Result.case_id, Result.analysis_key)).all()
    assert len(keys) == len(set(keys)) == len(ids)  # one result per analysis key
