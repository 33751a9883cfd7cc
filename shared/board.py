"""The live board: which cases, in what order, counted how, and what each row shows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from shared.db.models import Case, CaseStatus
from shared.schemas import Acuity, Assessment, VitalConflict

OPEN_STATUSES = (CaseStatus.QUEUED, CaseStatus.RUNNING, CaseStatus.ANALYZED, CaseStatus.FAILED)

# Short names as nurses write them, for the board's conflict line.
VITAL_LABELS = {
    "heart_rate": "HR",
    "respiratory_rate": "RR",
    "spo2": "SpO2",
    "systolic_bp": "systolic BP",
    "diastolic_bp": "diastolic BP",
    "temperature_c": "temp",
    "consciousness": "AVPU",
    "on_oxygen": "oxygen",
    "gcs": "GCS",
    "pain": "pain",
}


def stored_conflicts(assessment: Assessment) -> list[dict[str, Any]]:
    """What the board needs of each conflict, kept on the case so the board reads one table."""
    return [
        c.model_dump(mode="json", include={"field", "structured", "note", "used"})
        for c in assessment.conflicts
    ]


def _shown(field: str, value: Any) -> str:
    if field == "on_oxygen" and isinstance(value, bool):
        return "on oxygen" if value else "air"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def conflict_view(conflict: dict[str, Any] | VitalConflict) -> dict[str, Any]:
    """A conflict with both values and the sentence a nurse reads, e.g.
    "HR 150 in note vs 80 typed — re-measure"."""
    data = conflict.model_dump(mode="json") if isinstance(conflict, VitalConflict) else conflict
    field = str(data["field"])
    label = VITAL_LABELS.get(field, field.replace("_", " "))
    note, typed = _shown(field, data["note"]), _shown(field, data["structured"])
    return {
        "field": field,
        "label": label,
        "note": data["note"],
        "structured": data["structured"],
        "used": data.get("used"),
        "text": f"{label} {note} in note vs {typed} typed — re-measure",
    }


def board_version(session: Session) -> tuple[Any, ...]:
    """A cheap fingerprint of everything the board shows; any change moves it."""
    # Not only the latest update: a transaction that commits late with an earlier
    # timestamp still moves the counts of what changed (started, analyzed, failed, acuity).
    row = session.execute(
        select(
            func.count(Case.id),
            func.max(Case.updated_at),
            func.max(Case.id),
            func.count(Case.started_at),
            func.count(Case.analyzed_at),
            func.count(Case.last_error),
            func.sum(Case.acuity, type_=Integer),
            func.sum(sql_case((Case.vitals_documented.is_(False), 1), else_=0)),
            func.sum(Case.attempts),
        ).where(Case.status.in_(OPEN_STATUSES))
    ).one()
    return tuple(row)


def board_counts(session: Session) -> dict[str, int]:
    """Open cases per acuity level "1" to "5", over all of them (the row list is capped)."""
    counts = {str(int(level)): 0 for level in Acuity}
    for acuity, count in session.execute(
        select(Case.acuity, func.count(Case.id))
        .where(Case.status.in_(OPEN_STATUSES))
        .group_by(Case.acuity)
    ):
        counts[str(int(acuity))] = count
    return counts


def board_cases(session: Session, limit: int = 500) -> list[Case]:
    """Open cases: most urgent level first; within a level, "vital signs not documented"
    above complete cases; then longest waiting (the target is the same within a level)."""
    return list(
        session.scalars(
            select(Case)
            .where(Case.status.in_(OPEN_STATUSES))
            .order_by(
                Case.acuity.asc(),
                Case.vitals_documented.asc(),
                Case.created_at.asc(),
                Case.id.asc(),
            )
            .limit(limit)
        )
    )


def board_row(case: Case, targets: dict[int, int]) -> dict[str, Any]:
    acuity = Acuity(case.acuity)
    target = targets[int(acuity)]
    return {
        "id": case.public_id,
        "chief_complaint": case.chief_complaint,
        "status": case.status.value,
        "acuity": int(acuity),
        "acuity_name": acuity.label.split(" ", 1)[1],
        "acuity_label": acuity.label,
        "risk_level": case.risk_level.value,
        "provisional": case.status in (CaseStatus.QUEUED, CaseStatus.RUNNING),
        "created_at": iso(case.created_at),
        "target_minutes": target,
        # The engine is deterministic: the first reason at intake is the first after analysis.
        "reason": case.provisional_reasons[0]["detail"] if case.provisional_reasons else None,
        "due_at": iso(case.created_at + dt.timedelta(minutes=target)),
        "vitals_documented": case.vitals_documented,
        "conflicts": [conflict_view(c) for c in case.vital_conflicts or []],
    }


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value is not None else None
