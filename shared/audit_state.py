"""What of a case and its results the audit chain vouches for.

When an event about a case is sealed, the case's clinically decisive fields and a hash of each
of its results go into the keyed hash with it. Every legitimate change to those fields writes
an event in the same transaction, so the latest sealed event of a case must describe the case
as it is now; anything else was changed in the database behind the application's back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db.models import Case, Result

# queued and running alternate without events (worker start, reconciler re-send).
_STATUS = {"queued": "pending", "running": "pending"}

LABELS = {
    "status": "analysis status",
    "care": "care status",
    "acuity": "acuity",
    "risk": "risk level",
    "provisional": "acuity at triage",
    "engine": "engine's acuity",
    "override": "clinician's override",
    "disposition": "disposition",
    "assigned": "assigned clinician (user id)",
    "area": "area",
    "inputs": "intake data (age, sex, complaint, note, vital signs)",
    "level_of_care": "level of care at admission",
    "followup": "follow-up outcome",
}
# The outcome site calibration learns from: vouched for once recorded. Absent while empty,
# so the states sealed before these fields existed still match.
_OUTCOME = ("level_of_care", "followup")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def sha256(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def _value(v: Any) -> Any:
    return getattr(v, "value", v) if v is not None else None


def _case_state(row: Any) -> dict[str, Any]:
    status = _value(row.status)
    state: dict[str, Any] = {
        "ref": row.public_id,
        "status": _STATUS.get(status, status),
        "care": _value(row.care_status),
        "acuity": int(row.acuity),
        "risk": _value(row.risk_level),
        "provisional": int(row.provisional_acuity),
        "engine": int(row.engine_acuity),
        "override": None if row.override_acuity is None else int(row.override_acuity),
        "disposition": _value(row.disposition),
        "assigned": row.assigned_to_id,
        "area": row.area,
        "inputs": sha256(
            [row.age_years, row.sex, row.pregnant, row.chief_complaint, row.note, row.vitals]
        ),
        "results": [],
    }
    for name in _OUTCOME:
        value = _value(getattr(row, name))
        if value is not None:
            state[name] = value
    return state


def _result_state(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "acuity": int(row.acuity),
        "risk": _value(row.risk_level),
        "payload": sha256(row.payload),
        "key": row.analysis_key,
        "pipeline": f"{row.pipeline} {row.pipeline_version}",
    }


def case_states(session: Session, case_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The state of each case (those that exist), its results in id order."""
    ids = sorted(set(case_ids))
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in session.execute(
            select(
                Case.id, Case.public_id, Case.status, Case.care_status, Case.acuity,
                Case.risk_level, Case.provisional_acuity, Case.engine_acuity,
                Case.override_acuity, Case.disposition, Case.assigned_to_id, Case.area,
                Case.age_years, Case.sex, Case.pregnant, Case.chief_complaint, Case.note,
                Case.vitals, Case.level_of_care, Case.followup,
            ).where(Case.id.in_(chunk))
        ):  # fmt: skip
            out[row.id] = _case_state(row)
        for row in session.execute(
            select(
                Result.id, Result.case_id, Result.acuity, Result.risk_level, Result.payload,
                Result.analysis_key, Result.pipeline, Result.pipeline_version,
            )
            .where(Result.case_id.in_(chunk))
            .order_by(Result.id)
        ):  # fmt: skip
            if row.case_id in out:
                out[row.case_id]["results"].append(_result_state(row))
    return out


def differences(sealed: dict[str, Any], now: dict[str, Any] | None) -> list[str]:
    """What changed since the sealed state, in words an auditor reads (no patient data)."""
    if now is None:
        return ["the case row was deleted"]
    found = [
        f"{LABELS[name]} was {_show(sealed.get(name))}, now {_show(now.get(name))}"
        if name != "inputs"
        else f"{LABELS[name]} changed"
        for name in LABELS
        if sealed.get(name) != now.get(name)
    ]
    before = {r["id"]: r for r in sealed.get("results", [])}
    after = {r["id"]: r for r in now.get("results", [])}
    for rid in sorted(before.keys() | after.keys()):
        old, new = before.get(rid), after.get(rid)
        if new is None:
            found.append(f"result {rid} was deleted")
        elif old is None:
            found.append(f"result {rid} appeared with no event")
        else:
            changed = [
                f"{name} {_show(old[name])} -> {_show(new[name])}"
                if name in ("acuity", "risk")
                else f"{name} changed"
                for name in ("acuity", "risk", "payload", "key", "pipeline")
                if old.get(name) != new.get(name)
            ]
            if changed:
                found.append(f"result {rid}: " + ", ".join(changed))
    return found


def _show(value: Any) -> str:
    return "none" if value is None else str(value)
