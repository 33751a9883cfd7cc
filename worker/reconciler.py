"""Re-sends cases the queue lost: queued with no message waiting and no lease, or running
with no lease.
Each pass also seals pending audit events into the hash chain.

Runs as a thread in each worker's main process. A short Redis lock makes one pass at a time
across all workers; a second pass would only send harmless duplicates anyway.

A queued case is alive while its message waits on a queue list or a worker holds its lease.
The dispatch marker is not trusted: a worker's main process killed with a message taken off
the list but not started leaves that message in Redis's `unacked` set, marker still set,
until the visibility timeout (an hour). Such a case is re-sent after its grace instead; the
late redelivery of the old message is harmless (one result per analysis key, see
worker.tasks.claim). A live worker's prefetched message may be re-sent once too, for the
same reason harmlessly.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from shared import audit
from shared.config import Settings
from shared.db import Case, CaseStatus, make_engine, make_session_factory, utcnow
from shared.queue import QUEUE_ERRORS, Dispatcher

log = logging.getLogger(__name__)

LOCK_KEY = "medtriage:reconciler-lock"


@dataclass
class Pass:
    resent_queued: int = 0
    resent_running: int = 0
    sealed: int = 0
    skipped: bool = False


class Reconciler:
    """One pass looks at stale cases in the database and asks Redis whether they are alive."""

    def __init__(
        self, sessions: sessionmaker[Session], dispatcher: Dispatcher, settings: Settings
    ) -> None:
        self.sessions = sessions
        self.dispatcher = dispatcher
        self.settings = settings

    def run_once(self, now: dt.datetime | None = None) -> Pass:
        now = now or utcnow()
        lock_s = max(int(self.settings.reconcile_interval_s), 1)
        if not self.dispatcher.redis.set(LOCK_KEY, "1", nx=True, ex=lock_s):
            return Pass(skipped=True)
        done = Pass()
        grace = dt.timedelta(seconds=self.settings.queued_grace_s)
        lease_grace = dt.timedelta(seconds=self.settings.lease_ttl_s)
        cutoff = func.coalesce(Case.dispatched_at, Case.created_at) < now - grace
        with self.sessions() as session:
            queued = session.execute(
                select(Case.id, Case.acuity)
                .where(Case.status == CaseStatus.QUEUED, cutoff)
                .order_by(Case.acuity, Case.vitals_documented, Case.created_at)
                .limit(500)
            ).all()
            session.rollback()
            waiting = self.dispatcher.waiting() if queued else set()
            for case_id, acuity in queued:
                if case_id not in waiting and not self.dispatcher.has_lease(case_id):
                    claimed = self._claim(
                        session, case_id, Case.status == CaseStatus.QUEUED, cutoff
                    )
                    if claimed and self.dispatcher.send(case_id, acuity):
                        done.resent_queued += 1
            running = session.execute(
                select(Case.id, Case.acuity, Case.started_at)
                .where(Case.status == CaseStatus.RUNNING, Case.started_at < now - lease_grace)
                .limit(500)
            ).all()
            session.rollback()
            for case_id, acuity, started_at in running:
                if not self.dispatcher.has_lease(case_id):
                    still_running = (
                        Case.status == CaseStatus.RUNNING,
                        Case.started_at == started_at,
                    )
                    if self._claim(session, case_id, *still_running) and self.dispatcher.send(
                        case_id, acuity
                    ):
                        done.resent_running += 1
            done.sealed = audit.seal_and_anchor(session, self.settings)
        if done.resent_queued or done.resent_running:
            log.info(
                "reconciler re-sent %s queued and %s running cases",
                done.resent_queued,
                done.resent_running,
            )
        return done

    def _claim(self, session: Session, case_id: int, *still: ColumnElement[bool]) -> bool:
        """Mark the case queued and re-dispatched, only if it is still as we saw it.

        A worker may finish the case between our read and now: the conditions then match
        no row, and we leave the case alone instead of pushing a finished one back.
        """
        result = session.execute(
            update(Case)
            .where(Case.id == case_id, *still)
            .values(status=CaseStatus.QUEUED, dispatched_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return bool(getattr(result, "rowcount", 0) == 1)


_thread: threading.Thread | None = None
_stop = threading.Event()
_engine: Engine | None = None


def _loop(reconciler: Reconciler, interval: float) -> None:
    while not _stop.wait(interval):
        try:
            reconciler.run_once()
        except QUEUE_ERRORS as exc:
            log.warning("reconciler: Redis unavailable (%s)", type(exc).__name__)
        except Exception:  # keep reconciling whatever one pass hit
            log.exception("reconciler pass failed")


def start_thread(settings: Settings) -> None:
    global _thread, _engine
    if _thread is not None and _thread.is_alive():
        return
    _engine = make_engine(settings.sqlalchemy_url, pool_size=1, max_overflow=1)
    reconciler = Reconciler(
        make_session_factory(_engine), Dispatcher.from_settings(settings), settings
    )
    _stop.clear()
    _thread = threading.Thread(
        target=_loop,
        args=(reconciler, settings.reconcile_interval_s),
        name="reconciler",
        daemon=True,
    )
    _thread.start()


def stop_thread() -> None:
    _stop.set()
    if _thread is not None:
        _thread.join(timeout=5)


def forget_inherited() -> None:
    """In a forked child: drop the parent's pooled connections without closing them."""
    if _engine is not None:
        _engine.dispose(close=False)
