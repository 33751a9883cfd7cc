"""Case services: intake in one transaction, reading a case."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Engine, Insert, Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.accounts import Principal
from shared.audit_origin import current_origin
from shared.board import board_row, conflict_view, iso, stored_conflicts
from shared.clinical.engine import assess_case
from shared.db.models import AuditEvent, CareStatus, Case, CaseStatus, Result, utcnow
from shared.schemas import Acuity, CaseIn


class IdempotencyConflict(Exception):
    """The key was used before for a different case: nothing was saved."""

    message = (
        "This Idempotency-Key was already used for a different case; nothing was saved. "
        "Send a new key to submit this case, or resend the first body unchanged."
    )

    def __init__(self, first: Case) -> None:
        super().__init__(self.message)
        self.first = first


def find_by_idempotency_key(session: Session, user: Principal, key: str) -> Case | None:
    return session.scalar(
        select(Case).where(Case.submitted_by_id == user.id, Case.idempotency_key == key)
    )


def body_hash(case_in: CaseIn, images: Sequence[str] = ()) -> str:
    """SHA-256 of the validated case and the content hashes of its images: the same case in
    another key order or spacing matches, and so do the same images in another order. A case
    without images hashes as it always did."""
    digest = hashlib.sha256(case_in.model_dump_json().encode())
    if images:
        digest.update(("|images:" + ",".join(sorted(set(images)))).encode())
    return digest.hexdigest()


def create_case(
    session: Session,
    user: Principal,
    case_in: CaseIn,
    idempotency_key: str | None = None,
    images: Sequence[str] = (),
) -> tuple[Case, bool]:
    """Write the case, its provisional acuity and its audit event atomically.

    Returns (case, created). A repeated idempotency key with the same case returns the first
    case, also when two submits race: the unique constraint decides and the loser reads the
    winner's row. (No look-up first: the common case, a new key, costs no extra round trip.)
    The same key with a different case raises IdempotencyConflict: the second body is never
    silently dropped; `images` (the content hashes of the images sent with it) count as part
    of the case. Keys come namespaced (`api_idempotency_key`, `form_idempotency_key`).
    """
    assessment = assess_case(case_in)
    now = utcnow()
    digest = body_hash(case_in, images) if idempotency_key else None
    values: dict[str, Any] = {
        "public_id": str(uuid.uuid4()),
        "submitted_by_id": user.id,
        "idempotency_key": idempotency_key,
        "idempotency_hash": digest,
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
        "provisional_acuity": assessment.acuity,
        "acuity": assessment.acuity,
        "engine_acuity": assessment.acuity,
        "care_status": CareStatus.WAITING,
        "last_assessed_at": now,
        "vitals_documented": assessment.vitals_documented,
        "vital_conflicts": stored_conflicts(assessment),
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    event = {
        "via": current_origin(),  # api or form; the one-statement insert skips column defaults
        "actor": user.username,
        "action": "case.submitted",
        "detail": {
            "provisional_acuity": int(assessment.acuity),
            "provisional_risk": assessment.risk_level.value,
            "vitals_documented": assessment.vitals_documented,
            "vital_conflicts": [c.field for c in assessment.conflicts],
        },
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
                first = existing.idempotency_hash
                session.rollback()
                # No hash: a case stored before hashes were kept, answered as before.
                if first not in (None, digest):
                    raise IdempotencyConflict(existing) from None
                return existing, False
        raise
    return Case(id=case_id, **values), True


def _intake_statements() -> tuple[Insert, Insert, Insert]:
    """Built once: per-request statement construction costs more CPU than the insert."""
    cases, events = cast(Table, Case.__table__), cast(Table, AuditEvent.__table__)
    case_values = {name: bindparam(name, type_=cases.c[name].type) for name in CASE_COLUMNS}
    event_columns = ["at", "actor", "action", "case_id", "detail", "via"]
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
                bindparam("via", type_=events.c.via.type),
            ),
        )
        .returning(events.c.case_id)
    )
    return insert_case, insert_event, both


CASE_COLUMNS = (
    "public_id", "submitted_by_id", "idempotency_key", "idempotency_hash", "patient_ref",
    "age_years", "sex", "pregnant", "chief_complaint", "note", "vitals", "status",
    "provisional_risk", "provisional_reasons", "risk_level", "risk_rank", "provisional_acuity",
    "acuity", "engine_acuity", "care_status", "last_assessed_at", "vitals_documented",
    "vital_conflicts", "attempts", "created_at", "updated_at",
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


def api_idempotency_key(key: str) -> str:
    """An API client's Idempotency-Key, namespaced so it never meets a form's key."""
    return "api:" + hashlib.sha256(key.encode()).hexdigest()[:40]


RISK_TO_ACUITY = {"high": Acuity.EMERGENT, "medium": Acuity.URGENT, "low": Acuity.LESS_URGENT}


def _with_acuity(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reasons stored before the five levels carry only `level`: give them its acuity."""
    out = []
    for reason in reasons:
        if reason.get("acuity") is None:
            acuity = RISK_TO_ACUITY.get(str(reason.get("level")), Acuity.LESS_URGENT)
            reason = {**reason, "acuity": int(acuity)}
        out.append({**reason, "acuity_label": Acuity(reason["acuity"]).label})
    return out


def case_to_dict(case: Case, result: Result | None, targets: dict[int, int]) -> dict[str, Any]:
    """The case as the API and the case page show it."""
    out = board_row(case, targets)
    out.update(
        patient_ref=case.patient_ref,
        age_years=case.age_years,
        sex=case.sex,
        pregnant=case.pregnant,
        note=case.note,
        vitals=case.vitals,
        provisional_acuity=int(case.provisional_acuity),
        provisional_acuity_label=case.provisional_acuity.label,
        provisional_risk=case.provisional_risk.value,
        provisional_reasons=_with_acuity(case.provisional_reasons),
        analyzed_at=iso(case.analyzed_at),
        result=None,
    )
    if result is not None:
        payload = dict(result.payload)
        assessment = dict(payload.get("assessment") or {})
        assessment["reasons"] = _with_acuity(assessment.get("reasons") or [])
        assessment["conflicts"] = [conflict_view(c) for c in assessment.get("conflicts") or []]
        out["result"] = {
            **payload,
            "assessment": assessment,
            # The stored acuity is final: the pipeline's, made no less urgent than intake's.
            "acuity": int(result.acuity),
            "acuity_label": result.acuity.label,
            "risk_level": result.risk_level.value,
            "pipeline_acuity": payload.get("acuity"),
            "pipeline": result.pipeline,
            "pipeline_version": result.pipeline_version,
            "model_ids": result.model_ids.split(","),
            "created_at": iso(result.created_at),
        }
    return out


def latest_result(session: Session, case: Case) -> Result | None:
    return session.scalar(
        select(Result).where(Result.case_id == case.id).order_by(Result.id.desc()).limit(1)
    )
