"""The reconciler on the real database and Redis: it re-sends exactly the lost cases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from shared.db import Case, CaseStatus
from shared.queue import LEASE_KEY, MARKER_KEY, Dispatcher, message_case_id
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


LOW_LIST = "triage\x06\x166"  # acuity 4 (case_body("low")) waits on priority step 6


def take_off_the_list(r, case_id):
    """What a worker's main process does on delivery: the message moves to `unacked`."""
    (raw,) = [m for m in r.lrange(LOW_LIST, 0, -1) if message_case_id(m) == case_id]
    r.lrem(LOW_LIST, 1, raw)
    r.hset("unacked", f"tag-{case_id}", raw)


def test_queued_case_waiting_or_leased_is_left_alone_and_stranded_one_is_resent(
    client, staff, sessions, reconciler, redis_server
):
    for _ in range(3):
        submit(client, staff["nurse"].token, case_body("low"))
    waiting, stranded, starting = ids(sessions)
    age_cases(sessions)
    r = redis_server.client()
    # Issue 8: a worker killed after taking the message leaves it in `unacked` with its
    # dispatch marker set; the marker alone kept the case queued until the visibility timeout.
    take_off_the_list(r, stranded)
    take_off_the_list(r, starting)  # taken by a live worker that holds the lease
    r.set(LEASE_KEY.format(case_id=starting), "token", ex=30)
    assert all(r.exists(MARKER_KEY.format(case_id=c)) for c in (waiting, stranded, starting))

    done = reconciler.run_once()
    assert (done.resent_queued, done.resent_running) == (1, 0)
    on_list = [message_case_id(m) for m in r.lrange(LOW_LIST, 0, -1)]
    assert sorted(on_list) == [waiting, stranded]

    # Re-sent once: its message now waits on the list, so the next pass leaves it alone.
    age_cases(sessions)
    r.delete(LOCK_KEY)
    assert reconciler.run_once().resent_queued == 0


def test_a_case_whose_message_is_gone_is_resent_whatever_its_marker_says(
    client, staff, sessions, reconciler, redis_server
):
    submit(client, staff["nurse"].token, case_body("low"))
    (case_id,) = ids(sessions)
    age_cases(sessions)
    r = redis_server.client()
    r.delete(LOW_LIST)  # e.g. `celery purge`: the lists go, the markers stay
    assert r.exists(MARKER_KEY.format(case_id=case_id))

    assert reconciler.run_once().resent_queued == 1
    assert [message_case_id(m) for m in r.lrange(LOW_LIST, 0, -1)] == [case_id]


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
