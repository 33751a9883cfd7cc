"""Finding cases: by care status, level, arrival date, reference and disposition, in pages
that always say how many matched (nothing is cut off without saying so)."""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from shared.board import iso
from shared.db.models import CareStatus, Case, Disposition, User
from shared.schemas import Acuity

MAX_PER_PAGE = 200


class CaseQuery(BaseModel):
    """Filters; a date or a time without a zone is read in the site's time zone."""

    model_config = ConfigDict(extra="forbid")

    status: CareStatus | None = None
    level: Acuity | None = None
    since: dt.datetime | dt.date | None = None
    until: dt.datetime | dt.date | None = None
    reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    disposition: Disposition | None = None
    page: int = Field(1, ge=1)
    per_page: int = Field(50, ge=1, le=MAX_PER_PAGE)

    @field_validator("since", "until", "reference", "status", "level", "disposition", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


def _moment(value: dt.datetime | dt.date, zone: str, end: bool) -> dt.datetime:
    """A date means the whole day (from its start, or to its end) in the site's zone."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value + dt.timedelta(days=1 if end else 0), dt.time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    return value.astimezone(dt.UTC)


def _filtered(query: CaseQuery, zone: str) -> Select[Any]:
    stmt = select(Case)
    if query.status is not None:
        stmt = stmt.where(Case.care_status == query.status)
    if query.level is not None:
        stmt = stmt.where(Case.acuity == query.level)
    if query.disposition is not None:
        stmt = stmt.where(Case.disposition == query.disposition)
    if query.reference:
        stmt = stmt.where(Case.patient_ref == query.reference)
    if query.since is not None:
        stmt = stmt.where(Case.created_at >= _moment(query.since, zone, end=False))
    if query.until is not None:
        stmt = stmt.where(Case.created_at < _moment(query.until, zone, end=True))
    return stmt


def search_cases(session: Session, query: CaseQuery, zone: str) -> dict[str, Any]:
    """One page of matching cases, newest arrival first, with the total and the page count."""
    stmt = _filtered(query, zone)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    assignee = aliased(User)
    rows = session.execute(
        stmt.add_columns(assignee.username)
        .outerjoin(assignee, assignee.id == Case.assigned_to_id)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    ).all()
    return {
        "items": [summary(case, username) for case, username in rows],
        "total": total,
        "page": query.page,
        "per_page": query.per_page,
        "pages": max(math.ceil(total / query.per_page), 1),
    }


def summary(case: Case, assigned_to: str | None) -> dict[str, Any]:
    return {
        "id": case.public_id,
        "patient_ref": case.patient_ref,
        "age_years": case.age_years,
        "sex": case.sex,
        "chief_complaint": case.chief_complaint,
        "acuity": int(case.acuity),
        "acuity_label": case.acuity.label,
        "engine_acuity": int(case.engine_acuity),
        "override_acuity": int(case.override_acuity) if case.override_acuity else None,
        "status": case.status.value,
        "care_status": case.care_status.value,
        "assigned_to": assigned_to,
        "area": case.area,
        "disposition": case.disposition.value if case.disposition else None,
        "created_at": iso(case.created_at),
        "disposed_at": iso(case.disposed_at),
    }
