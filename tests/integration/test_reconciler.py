"""The reconciler on the real database and Redis: it re-sends exactly the lost cases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from shared.db import Case, CaseStatus
from shared.queue import LEASE_KEY, MARKER_KEY, Dispatcher
from tests.conftest import case_body
from tests.support.cases import submit
from worker.reconciler import LOCK_KEY, Reconciler


@pytest.fixture
def reconciler(settings, sessions):
    return Reconciler(sessions, Dispatcher.from_settings(settings), settings)


def age_cases(sessions, **values):
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with sessions.begin() as session:
        session.execute(update(Case).values(created_at=past, **values))


def ids(sessions):
    with sessions() as session:
        return session.scalars(select(Case.id).order_by(Case.id)).all()


def test_queued_case_with_marker_is_left_alone_and_lost_one_is_resent(
    client, staff, sessions, reconciler, redis_server
):
    for _ in range(2):
        submit(client, staff["nurse"].token, case_body("low"))
    _kept, lost = ids(sessions)
    age_cases(sessions)
    r = redis_server.client()
    r.delete(MARKER_KEY.format(case_id=lost))
    queued_before = r.llen("triage\x06\x166")

    done = reconciler.run_once()
    assert (done.resent_queued, done.resent_running) == (1, 0)
    assert r.exists(MARKER_KEY.format(case_id=lost))
    assert r.llen("triage\x06\x166") == queued_before + 1


def test_running_case_without_lease_is_requeued_and_with_lease_is_not(
    client, staff, sessions, reconciler, redis_server
):
    for _ in range(2):
        submit(client, staff["nurse"].token, case_body("high"))
    alive, dead = ids(sessions)
    age_cases(
        sessions,
        status=CaseStatus.RUNNING,
        started_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
    )
    redis_server.client().set(LEASE_KEY.format(case_id=alive), "token", ex=30)

    done = reconciler.run_once()
    assert (done.resent_queued, done.resent_running) == (0, 1)
    with sessions() as session:
        status = dict(session.execute(select(Case.id, Case.status)).all())
    assert status == {alive: CaseStatus.RUNNING, dead: CaseStatus.QUEUED}


def test_one_pass_at_a_time_across_workers(reconciler, redis_server):
    assert not reconciler.run_once().skipped
    assert reconciler.run_once().skipped  # another worker's pass holds the lock
    redis_server.client().delete(LOCK_KEY)
    assert not reconciler.run_once().skipped


def test_a_case_finished_meanwhile_is_not_pushed_back(client, staff, sessions, reconciler):
    submit(client, staff["nurse"].token, case_body("low"))
    (case_id,) = ids(sessions)
    with sessions.begin() as session:  # the worker finished it after the reconciler's read
        session.execute(update(Case).values(status=CaseStatus.ANALYZED))
    with sessions() as session:
        assert not reconciler._claim(session, case_id, Case.status == CaseStatus.RUNNING)
    with sessions() as session:
        assert session.scalar(select(Case.status)) == CaseStatus.ANALYZED


def test_a_lapsed_lease_taken_over_is_not_refreshed_by_its_old_owner(reconciler):
    dispatcher = reconciler.dispatcher
    first = dispatcher.acquire_lease(42)
    dispatcher.redis.delete(LEASE_KEY.format(case_id=42))  # lapsed
    second = dispatcher.acquire_lease(42)
    assert first and second and first != second
    assert not dispatcher.refresh_lease(42, first)
    assert dispatcher.redis.get(LEASE_KEY.format(case_id=42)).decode() == second
    assert dispatcher.refresh_lease(42, second)
