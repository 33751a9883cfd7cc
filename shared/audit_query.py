"""Finding audit events: by case (its public reference or the patient reference), actor,
action and time, in pages that say how many matched; the same filter exported as CSV/JSON."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from shared.db.models import AuditEvent, Case

MAX_PER_PAGE = 500
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
Text64 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
EXPORT_FIELDS = ("seq", "at", "actor", "action", "via", "case", "patient_ref", "detail")


class EventQuery(BaseModel):
    """Filters; a time without a zone is UTC, as the audit trail shows times."""

    model_config = ConfigDict(extra="forbid")

    case: Text64 | None = None
    actor: Text64 | None = None
    action: Text64 | None = None
    since: dt.datetime | dt.date | None = None
    until: dt.datetime | dt.date | None = None
    page: int = Field(1, ge=1, le=10_000_000)
    per_page: int = Field(100, ge=1, le=MAX_PER_PAGE)

    @field_validator("case", "actor", "action", "since", "until", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and DATE_RE.match(value.strip()):
            return dt.date.fromisoformat(value.strip())  # a day, not its first instant
        return value

    def filters(self) -> dict[str, str]:
        """The filter as query arguments (for links to the next page and to exports)."""
        out = self.model_dump(exclude={"page", "per_page"}, exclude_none=True, mode="json")
        return {name: str(value) for name, value in out.items()}


def _moment(value: dt.datetime | dt.date, end: bool) -> dt.datetime:
    """A date is the whole UTC day: from its start, or up to the start of the next."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value + dt.timedelta(days=1 if end else 0), dt.time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


EventRow = Select[AuditEvent, str, str | None]


def _filtered(query: EventQuery) -> EventRow:
    stmt = select(AuditEvent, Case.public_id, Case.patient_ref).outerjoin(
        Case, Case.id == AuditEvent.case_id
    )
    if query.case:
        ref = query.case.lower()
        matches = [Case.public_id == ref, Case.patient_ref == query.case]
        if len(ref) >= 8:  # the short reference the pages show
            matches.append(Case.public_id.startswith(ref, autoescape=True))
        stmt = stmt.where(AuditEvent.case_id.in_(select(Case.id).where(or_(*matches))))
    if query.actor:
        stmt = stmt.where(func.lower(AuditEvent.actor) == query.actor.lower())
    if query.action:
        # "case." finds every case action; "case.viewed" just that one.
        if query.action.endswith("."):
            stmt = stmt.where(AuditEvent.action.startswith(query.action, autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == query.action)
    if query.since is not None:
        stmt = stmt.where(AuditEvent.at >= _moment(query.since, end=False))
    if query.until is not None:
        stmt = stmt.where(AuditEvent.at < _moment(query.until, end=True))
    return stmt


def _row(event: AuditEvent, public_id: str | None, patient_ref: str | None) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "actor": event.actor,
        "action": event.action,
        "via": event.via,
        "case": public_id,
        "patient_ref": patient_ref,
        "detail": event.detail,
    }


def search_events(session: Session, query: EventQuery) -> dict[str, Any]:
    """One page, newest first, and how many events match in all."""
    stmt = _filtered(query)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(AuditEvent.id.desc())
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    ).all()
    return {
        "items": [_row(*row) for row in rows],
        "total": total,
        "page": query.page,
        "per_page": query.per_page,
        "pages": max(math.ceil(total / query.per_page), 1),
    }


def iter_events(session: Session, query: EventQuery, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every matching event, oldest first, in batches of short transactions: a long export
    never holds the database (on SQLite every transaction takes the write lock)."""
    last = 0
    while True:
        rows = session.execute(
            _filtered(query).where(AuditEvent.id > last).order_by(AuditEvent.id).limit(batch)
        ).all()
        out = [_row(*row) for row in rows]  # before the rollback expires the events
        last = rows[-1][0].id if rows else last
        session.rollback()
        yield from out
        if len(rows) < batch:
            return


def to_csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        cells = {**row, "detail": json.dumps(row["detail"], sort_keys=True)}
        writer.writerow({name: _cell(value) for name, value in cells.items()})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _cell(value: Any) -> Any:
    """A spreadsheet would run a cell starting with = + - @ as a formula: quote it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_json(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    """A JSON array, written as it is read."""
    yield "["
    for number, row in enumerate(rows):
        yield ("," if number else "") + "\n" + json.dumps(row, sort_keys=True)
    yield "\n]\n"
