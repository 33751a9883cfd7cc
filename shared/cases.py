"""Case services: intake in one transaction, reading a case, the board."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any, cast

from sqlalchemy import Engine, Insert, Table, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.accounts import Principal
from shared.clinical.engine import assess_case
from shared.db.models import AuditEvent, Case, CaseStatus, Result, utcnow
from shared.schemas import CaseIn, RiskLevel

OPEN_STATUSES = (CaseStatus.QUEUED, CaseStatus.RUNNING, CaseStatus.ANALYZED, CaseStatus.FAILED)


def find_by_idempotency_key(session: Session, user: Principal, key: str) -> Case | None:
    return session.scalar(
        select(Case).where(Case.submitted_by_id == user.id, Case.idempotency_key == key)
    )


def create_case(
    session: Session, user: Principal, case_in: CaseIn, idempotency_key: str | None = None
) -> tuple[Case, bool]:
    """Write the case, its provisional risk and its audit event atomically.

    Returns (case, created). A repeated idempotency key returns the first case, also when
    two submits race: the unique constraint decides and the loser reads the winner's row.
    (No look-up first: the common case, a new key, costs no extra round trip.)
    """
    assessment = assess_case(case_in)
    now = utcnow()
    values: dict[str, Any] = {
        "public_id": str(uuid.uuid4()),
        "submitted_by_id": user.id,
        "idempotency_key": idempotency_key,
        "patient_ref": case_in.patient_ref,
        "age_years": case_in.age_years,
        "sex": case_in.sex.value,
        "pregnant": case_in.pregnant,
        "chief_complaint": case_in.chief_complaint,
        "note": case_in.note,
        "vitals": case_in.vitals.model_dump(mode="json"),
        "status": CaseStatus.QUEUED,
        "provisional_risk": assessment.risk_level,
        "provisional_reasons": [r.model_dump(mode="json") for r in assessment.reasons],
        "risk_level": assessment.risk_level,
        "risk_rank": assessment.risk_level.rank,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    event = {
        "actor": user.username,
        "action": "case.submitted",
        "detail": {"provisional_risk": assessment.risk_level.value},
    }
    try:
        if session.get_bind().dialect.name == "postgresql":
            case_id = _insert_in_one_statement(session, values, event)
        else:
            case_id = _insert_in_one_transaction(session, values, event)
    except IntegrityError:
        session.rollback()
        if idempotency_key:
            existing = find_by_idempotency_key(session, user, idempotency_key)
            if existing is not None:
                session.rollback()
                return existing, False
        raise
    return Case(id=case_id, **values), True


def _intake_statements() -> tuple[Insert, Insert, Insert]:
    """Built once: per-request statement construction costs more CPU than the insert."""
    cases, events = cast(Table, Case.__table__), cast(Table, AuditEvent.__table__)
    case_values = {name: bindparam(name, type_=cases.c[name].type) for name in CASE_COLUMNS}
    event_columns = ["at", "actor", "action", "case_id", "detail"]
    insert_case = cases.insert().values(case_values).returning(cases.c.id)
    insert_event = events.insert().values(
        {name: bindparam(name, type_=events.c[name].type) for name in event_columns}
    )
    new_case = insert_case.cte("new_case")
    both = (
        events.insert()
        .from_select(
            event_columns,
            select(
                bindparam("created_at", type_=events.c.at.type),
                bindparam("actor", type_=events.c.actor.type),
                bindparam("action", type_=events.c.action.type),
                new_case.c.id,
                bindparam("detail", type_=events.c.detail.type),
            ),
        )
        .returning(events.c.case_id)
    )
    return insert_case, insert_event, both


CASE_COLUMNS = (
    "public_id", "submitted_by_id", "idempotency_key", "patient_ref", "age_years", "sex",
    "pregnant", "chief_complaint", "note", "vitals", "status", "provisional_risk",
    "provisional_reasons", "risk_level", "risk_rank", "attempts", "created_at", "updated_at",
)  # fmt: skip
INSERT_CASE, INSERT_EVENT, INSERT_CASE_AND_EVENT = _intake_statements()


def _insert_in_one_transaction(
    session: Session, values: dict[str, Any], event: dict[str, Any]
) -> int:
    case_id: int = session.execute(INSERT_CASE, values).scalar_one()
    session.execute(INSERT_EVENT, {"at": values["created_at"], "case_id": case_id, **event})
    session.commit()
    return case_id


def _insert_in_one_statement(
    session: Session, values: dict[str, Any], event: dict[str, Any]
) -> int:
    """PostgreSQL: case and audit event in one autocommitted statement, one round trip.

    A data-modifying CTE is atomic like any single statement, and skips the separate
    BEGIN and COMMIT round trips that dominate intake latency under load.
    """
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with engine.connect() as conn:
        result = conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            INSERT_CASE_AND_EVENT, {**values, **event}
        )
        case_id = result.scalar_one()
        assert case_id is not None
        return int(case_id)


def form_idempotency_key(token: str) -> str:
    """Keys from the hidden form field are namespaced so they never meet API keys."""
    return "form:" + hashlib.sha256(token.encode()).hexdigest()[:40]


def case_to_dict(case: Case, result: Result | None, targets: dict[str, int]) -> dict[str, Any]:
    """The case as the API and the case page show it."""
    out = board_row(case, targets)
    out.update(
        patient_ref=case.patient_ref,
        age_years=case.age_years,
        sex=case.sex,
        pregnant=case.pregnant,
        note=case.note,
        vitals=case.vitals,
        provisional_risk=case.provisional_risk.value,
        provisional_reasons=case.provisional_reasons,
        analyzed_at=_iso(case.analyzed_at),
        result=None,
    )
    if result is not None:
        out["result"] = {
            "risk_level": result.risk_level.value,
            "pipeline": result.pipeline,
            "pipeline_version": result.pipeline_version,
            "model_ids": result.model_ids.split(","),
            "created_at": _iso(result.created_at),
            **result.payload,
        }
    return out


def latest_result(session: Session, case: Case) -> Result | None:
    return session.scalar(
        select(Result).where(Result.case_id == case.id).order_by(Result.id.desc()).limit(1)
    )


def board_version(session: Session) -> tuple[Any, ...]:
    """A cheap fingerprint of everything the board shows; any change moves it."""
    # Not only the latest update: a transaction that commits late with an earlier
    # timestamp still moves the counts of what changed (started, analyzed, failed, risk).
    row = session.execute(
        select(
            func.count(Case.id),
            func.max(Case.updated_at),
            func.max(Case.id),
            func.count(Case.started_at),
            func.count(Case.analyzed_at),
            func.count(Case.last_error),
            func.sum(Case.risk_rank),
            func.sum(Case.attempts),
        ).where(Case.status.in_(OPEN_STATUSES))
    ).one()
    return tuple(row)


def board_counts(session: Session) -> dict[str, int]:
    """Open cases per level, over all of them (the row list is capped)."""
    counts = {level.value: 0 for level in (RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW)}
    for level, count in session.execute(
        select(Case.risk_level, func.count(Case.id))
        .where(Case.status.in_(OPEN_STATUSES))
        .group_by(Case.risk_level)
    ):
        counts[level.value] = count
    return counts


def board_cases(session: Session, limit: int = 500) -> list[Case]:
    """Open cases, most urgent first, then longest waiting."""
    return list(
        session.scalars(
            select(Case)
            .where(Case.status.in_(OPEN_STATUSES))
            .order_by(Case.risk_rank.desc(), Case.created_at.asc(), Case.id.asc())
            .limit(limit)
        )
    )


def board_row(case: Case, targets: dict[str, int]) -> dict[str, Any]:
    target = targets[case.risk_level.value]
    return {
        "id": case.public_id,
        "chief_complaint": case.chief_complaint,
        "status": case.status.value,
        "risk_level": case.risk_level.value,
        "provisional": case.status in (CaseStatus.QUEUED, CaseStatus.RUNNING),
        "created_at": _iso(case.created_at),
        "target_minutes": target,
        # The engine is deterministic: the first reason at intake is the first after analysis.
        "reason": case.provisional_reasons[0]["detail"] if case.provisional_reasons else None,
        "due_at": _iso(case.created_at + dt.timedelta(minutes=target)),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value is not None else None
