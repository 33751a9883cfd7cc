"""Prometheus metrics of the clinic's state, read from the database and Redis at scrape time.

Read at scrape time, they are the same whichever gunicorn process answers and wherever the
workers run; the web's own request counters are per process and are added up by
prometheus-client's multiprocess mode (web/health.py). Labels are statuses, levels, priority
lists and worker node names: never a case, a patient or a user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import redis
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared import operations
from shared.board import BoardFilter, is_open
from shared.config import Settings
from shared.db.models import AuditEvent, Case, Result, utcnow
from shared.queue import QUEUE_ERRORS

# Seconds; a clinical-text analysis takes well under a second, a model-backed one minutes.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


def failed_login() -> Any:
    """Audit events of a refused login, whatever the login code names them
    (`user.login_failed`, `login.failed`, ...)."""
    return or_(AuditEvent.action.like("%login%fail%"), AuditEvent.action.like("%fail%login%"))


def overdue(now: dt.datetime, settings: Settings) -> Any:
    """Open cases still waiting past their level's target, as the board marks them."""
    waiting_past = BoardFilter(limit=1, care="overdue").condition(0, now, settings.target_minutes())
    return is_open() & waiting_past


class StateCollector(Collector):
    """The clinic's state for Prometheus: cases, overdue, queues, workers, failed logins,
    analysis latency; a dependency that is down is reported as `medtriage_up 0`. Reads on
    the caller's session (on SQLite a second connection would wait for its lock)."""

    def __init__(
        self,
        session: Session,
        redis_client: redis.Redis,
        settings: Settings,
        workers: Callable[[], list[str]],
    ) -> None:
        self.session = session
        self.redis = redis_client
        self.settings = settings
        self.workers = workers

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "medtriage_up", "1 when this dependency answers, else 0", labels=["component"]
        )
        try:
            database = list(self._database(self.session))
        except SQLAlchemyError:
            self.session.rollback()
            database = []
        up.add_metric(["database"], 1 if database else 0)
        try:
            queues = list(self._queues())
        except QUEUE_ERRORS:
            queues = []
        up.add_metric(["redis"], 1 if queues else 0)
        yield up
        yield from database
        yield from queues

    def _database(self, session: Session) -> Iterator[Metric]:
        cases = GaugeMetricFamily(
            "medtriage_cases",
            "Cases by analysis status, status of care and acuity level (1-5)",
            labels=["status", "care_status", "acuity"],
        )
        rows = session.execute(
            select(Case.status, Case.care_status, Case.acuity, func.count()).group_by(
                Case.status, Case.care_status, Case.acuity
            )
        ).all()
        for status, care, acuity, count in rows:
            cases.add_metric([status.value, care.value, str(int(acuity))], count)
        yield cases

        late = session.scalar(select(func.count()).where(overdue(utcnow(), self.settings)))
        yield GaugeMetricFamily(
            "medtriage_cases_overdue",
            "Open cases waiting past the target of their level (the board's overdue mark)",
            value=late or 0,
        )

        failed = session.scalar(select(func.count()).where(failed_login()))
        yield CounterMetricFamily(
            "medtriage_failed_logins",
            "Refused logins, counted from the audit trail",
            value=failed or 0,
        )
        yield self._latency(session)

    def _latency(self, session: Session) -> Metric:
        seconds = Result.duration_ms / 1000.0
        counts = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(seconds), 0.0),
                *(func.sum(sql_case((seconds <= b, 1), else_=0)) for b in LATENCY_BUCKETS),
            )
        ).one()
        total, total_s, *cumulative = counts
        buckets = [(str(b), int(n or 0)) for b, n in zip(LATENCY_BUCKETS, cumulative, strict=True)]
        return HistogramMetricFamily(
            "medtriage_analysis_duration_seconds",
            "How long the worker's pipeline took per analysis (every stored result)",
            buckets=[*buckets, ("+Inf", int(total))],
            sum_value=float(total_s),
        )

    def _queues(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "medtriage_queue_depth",
            "Analysis tasks waiting in Redis per priority list (the acuity levels it carries)",
            labels=["acuity"],
        )
        for levels, count in operations.queue_depths(self.redis, self.settings.queue_name).items():
            depth.add_metric([levels], count)
        yield depth
        yield GaugeMetricFamily(
            "medtriage_queue_unacked",
            "Tasks a worker has taken and not yet acknowledged (running or prefetched)",
            value=operations.unacked(self.redis),
        )
        yield GaugeMetricFamily(
            "medtriage_workers_online",
            "Celery workers that answered a ping during this scrape",
            value=len(self.workers()),
        )
