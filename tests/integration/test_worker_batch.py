"""MEDTRIAGE_MODEL_BATCH_SIZE > 1 with a real Celery worker and Redis: the worker takes queued
cases together in board order, stores one result per case, drops the later deliveries of the
cases it took, and leaves a case leased by another execution alone."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
from sqlalchemy import select

from shared.db import Case, Result
from shared.pipelines.news2 import News2Pipeline
from shared.queue import LEASE_KEY, Dispatcher
from shared.schemas import CaseIn, TriageResult
from tests.conftest import case_body
from tests.support.cases import results_per_case, statuses, submit, wait_analyzed
from tests.support.services import WorkerProcess, wait_for


class StallingBatchPipeline(News2Pipeline):
    """The real deterministic pipeline whose batch call fails (so the cases run one by one,
    the lead first) and whose 'medium' cases never finish: only the soft time limit ends
    them. Loaded by the worker as 'tests.integration.test_worker_batch:StallingBatchPipeline'."""

    name = "stalling-batch-news2"

    def analyze_many(self, cases: list[CaseIn]) -> list[TriageResult]:
        raise RuntimeError("the batch call failed")

    def analyze(self, case: CaseIn) -> TriageResult:
        if case.chief_complaint.startswith("medium"):
            time.sleep(600)  # the soft time limit interrupts it
        return super().analyze(case)


@pytest.fixture
def batch_worker(settings, tmp_path):
    # The model pipeline with the engine alone: the batch path without loading weights.
    batched = settings.model_copy(update={
        "pipeline": "model-text", "model_chain": "deterministic", "model_batch_size": 3,
    })  # fmt: skip
    process = WorkerProcess(batched, tmp_path)
    yield process
    process.stop()


def drained(worker: WorkerProcess) -> bool:
    log = worker.log()
    return log.count("] received") == log.count("] succeeded") >= 5


def batches(sessions) -> dict[str, list[tuple[str, int, int]]]:
    """Batch id -> [(case id, position, provisional acuity)] from the stored results."""
    out: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    with sessions() as session:
        rows = session.execute(
            select(Case.public_id, Case.provisional_acuity, Result.payload).join(Result)
        ).all()
    for public_id, acuity, payload in rows:
        batch = payload["worker"]["batch"]
        assert batch["size"] == sum(
            1 for *_, p in rows if p["worker"]["batch"]["id"] == batch["id"]
        )
        out[batch["id"]].append((public_id, batch["position"], int(acuity)))
    return {k: sorted(v, key=lambda row: row[1]) for k, v in out.items()}


def test_queued_cases_go_three_at_a_time_most_urgent_first(
    client, staff, sessions, settings, batch_worker
):
    token = staff["nurse"].token
    low = [submit(client, token, case_body("low"))["id"] for _ in range(2)]
    medium = [submit(client, token, case_body("medium"))["id"] for _ in range(2)]
    high = submit(client, token, case_body("high"))["id"]
    batch_worker.start()
    wait_analyzed(sessions, [*low, *medium, high])

    found = sorted(batches(sessions).values(), key=len, reverse=True)
    # The level-1/2 case's message comes first; it takes the two next most urgent with it.
    assert [case for case, *_ in found[0]] == [high, *medium]
    assert sorted(case for case, *_ in found[1]) == sorted(low) and len(found) == 2
    assert results_per_case(sessions) == dict.fromkeys([*low, *medium, high], 1)
    # The later deliveries of the cases already taken are dropped, not analyzed again (the
    # reconciler may also have re-sent the case whose message was taken but not yet leased).
    dispatcher = Dispatcher.from_settings(settings)
    wait_for(lambda: not dispatcher.waiting(), 30, "the queue to drain")
    wait_for(lambda: drained(batch_worker), 30, "every delivery to finish")
    assert batch_worker.log().count("already analyzed; redelivery ignored") >= 3
    assert batch_worker.log().count("analyzed in a batch of") == 2
    assert results_per_case(sessions) == dict.fromkeys([*low, *medium, high], 1)
    log = batch_worker.log()
    assert "Presents with symptoms" not in log and "test complaint" not in log


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_case_leased_by_another_execution_is_not_taken(
    client, staff, sessions, settings, batch_worker
):
    token = staff["nurse"].token
    first = submit(client, token, case_body("high"))["id"]
    held = submit(client, token, case_body("medium"))["id"]
    with sessions() as session:
        held_id = session.scalar(select(Case.id).where(Case.public_id == held))
    dispatcher = Dispatcher.from_settings(settings)
    # As if another worker were running it (a long lease: the tests' own TTL is short).
    lease = "another-worker"
    assert dispatcher.redis.set(LEASE_KEY.format(case_id=held_id), lease, nx=True, ex=600)
    batch_worker.start()
    wait_analyzed(sessions, [first])
    wait_for(lambda: "duplicate delivery ignored" in batch_worker.log(), 30, "the held case")
    assert results_per_case(sessions) == {first: 1, held: 0}
    (alone,) = batches(sessions).values()
    assert [case for case, *_ in alone] == [first]
    # Released (the other execution died without finishing): re-sent, it is analyzed once.
    dispatcher.release_lease(held_id, lease)
    assert dispatcher.send(held_id, 3)
    wait_analyzed(sessions, [held])
    assert results_per_case(sessions) == {first: 1, held: 1}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_worker_killed_mid_batch_every_case_completes_once(
    client, staff, sessions, settings, tmp_path
):
    slow = settings.model_copy(update={
        "pipeline": "tests.support.batch_pipelines:SlowBatchPipeline", "model_batch_size": 3,
    })  # fmt: skip
    ids = [submit(client, staff["nurse"].token, case_body("medium"))["id"] for _ in range(3)]
    worker = WorkerProcess(slow, tmp_path)
    try:
        worker.start()
        wait_for(lambda: set(statuses(sessions).values()) == {"running"}, 30, "one batch")
        worker.kill()
        assert set(statuses(sessions).values()) == {"running"}  # all three claimed together

        worker.start()  # the companions' messages wait; the reconciler re-sends the lead's
        wait_analyzed(sessions, ids, timeout=90)
    finally:
        worker.stop()
    assert results_per_case(sessions) == dict.fromkeys(ids, 1)
    with sessions() as session:
        attempts = session.scalars(select(Case.attempts).where(Case.public_id.in_(ids))).all()
    assert sorted(attempts) == [2, 2, 2]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_batch_past_its_time_limit_keeps_the_lead_already_analyzed(
    client, staff, sessions, settings, tmp_path
):
    """One task time limit for the whole batch: the lead (level 2) is analyzed first and
    stored at once; its companions run past MEDTRIAGE_TASK_SOFT_TIME_LIMIT_S and fail alone."""
    stalling = settings.model_copy(update={
        "pipeline": "tests.integration.test_worker_batch:StallingBatchPipeline",
        "model_batch_size": 3, "task_soft_time_limit_s": 2, "task_time_limit_s": 60,
        "max_attempts": 1,
    })  # fmt: skip
    token = staff["nurse"].token
    lead = submit(client, token, case_body("high"))["id"]
    others = [submit(client, token, case_body("medium"))["id"] for _ in range(2)]
    worker = WorkerProcess(stalling, tmp_path)
    try:
        worker.start()

        def settled() -> bool:
            now = statuses(sessions)
            return now[lead] != "queued" and all(now[c] == "failed" for c in others)

        wait_for(settled, 90, "the batch to end")
    finally:
        worker.stop()
    assert statuses(sessions)[lead] == "analyzed"
    assert results_per_case(sessions) == {lead: 1, others[0]: 0, others[1]: 0}
    log = worker.log()
    assert "Soft time limit (2s) exceeded" in log
    assert "Presents with symptoms" not in log and "test complaint" not in log
