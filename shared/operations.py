"""What operations staff look at: database and Redis health, queue depths, workers online,
and the models the workers ran. Shared by /readyz, /metrics and the admins' system page.

Everything here reports ids, names and counts, never patient data; a failure is reported by
its exception class, never its message (which may hold a URL with a password).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import redis
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db.models import Result
from shared.messages import list_key
from shared.queue import PRIORITY_STEPS, QUEUE_ERRORS, make_celery

# Which acuity levels each Redis priority list carries (shared/queue.py: PRIORITY).
STEP_LEVELS = {0: "1-2", 3: "3", 6: "4", 9: "5"}
# kombu's Redis transport keeps delivered, not yet acknowledged messages in this hash.
UNACKED_KEY = "unacked"


@dataclasses.dataclass(frozen=True)
class Check:
    """One dependency: reachable or not, and why not, in words."""

    name: str
    ok: bool
    detail: str = "ok"


def check_database(session: Session) -> Check:
    """On the caller's session: on SQLite a second connection would wait for its lock."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        session.rollback()
        cause = getattr(exc, "orig", None) or exc
        return Check("database", False, f"unreachable ({type(cause).__name__})")
    return Check("database", True)


def check_redis(client: redis.Redis) -> Check:
    try:
        client.ping()
    except QUEUE_ERRORS as exc:
        return Check("redis", False, f"unreachable ({type(exc).__name__})")
    return Check("redis", True)


def queue_depths(client: redis.Redis, queue_name: str) -> dict[str, int]:
    """Messages waiting per priority list, by the acuity levels each list carries."""
    with client.pipeline(transaction=False) as pipe:
        for step in PRIORITY_STEPS:
            pipe.llen(list_key(queue_name, step, PRIORITY_STEPS))
        lengths = pipe.execute()
    return {STEP_LEVELS[step]: int(n) for step, n in zip(PRIORITY_STEPS, lengths, strict=True)}


def unacked(client: redis.Redis) -> int:
    """Messages a worker has taken and not yet acknowledged (running or prefetched)."""
    return int(client.hlen(UNACKED_KEY))


class WorkerPing:
    """Asks every Celery worker on the broker to answer, the way `celery inspect ping` does."""

    def __init__(self, settings: Settings, timeout_s: float = 0.5) -> None:
        self.celery = make_celery(settings, name="medtriage-ops")
        self.timeout_s = timeout_s

    def __call__(self) -> list[str]:
        """The node names of the workers that answered within the timeout, sorted."""
        try:
            # A connection of its own each time: on a reused one (kombu's Redis transport)
            # every other ping missed the replies.
            with self.celery.connection_for_write() as connection:
                replies = self.celery.control.ping(timeout=self.timeout_s, connection=connection)
        except QUEUE_ERRORS:
            return []
        return sorted(name for reply in replies or [] for name in reply)


@dataclasses.dataclass(frozen=True)
class ModelsSeen:
    """The pipeline and models of the latest result a worker host wrote."""

    worker_host: str
    at: dt.datetime
    pipeline: str
    pipeline_version: str
    models: list[dict[str, Any]]


def models_seen(session: Session) -> list[ModelsSeen]:
    """Per worker host, what its latest result says it ran (name, version, revision, ...)."""
    latest = (
        select(Result.worker_host, func.max(Result.id).label("id"))
        .group_by(Result.worker_host)
        .subquery()
    )
    rows = session.execute(
        select(Result.worker_host, Result.created_at, Result.pipeline, Result.pipeline_version)
        .add_columns(Result.payload["models"])
        .join(latest, latest.c.id == Result.id)
        .order_by(Result.worker_host)
    ).all()
    return [
        ModelsSeen(host, at, pipeline, version, list(models or []))
        for host, at, pipeline, version, models in rows
    ]
