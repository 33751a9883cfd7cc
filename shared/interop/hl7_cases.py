"""What an HL7 v2 message does to a case, through the services the web uses: ADT^A04 makes
a case with intake's `create_case`, ADT^A08 and ORU^R01 re-triage the open case with the
lifecycle's own observations action (the one a nurse's form calls), so the queue, the board,
escalation and the audit trail behave as they do for people. The caller owns the transaction
(shared.interop.hl7_apply); reasons name fields, never their values.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared import audit
from shared.accounts import Principal, system_account
from shared.cases import IdempotencyConflict, create_case, find_by_idempotency_key
from shared.db.models import CareStatus, Case, Observation, Role, utcnow
from shared.interop import hl7, hl7_vitals
from shared.interop.hl7 import Received, not_applied
from shared.lifecycle import ACTIONS
from shared.lifecycle_inputs import LifecycleError, ObservationIn
from shared.schemas import CaseIn, VitalSigns

NO_COMPLAINT = "Registered by HL7 (no reason sent)"


@dataclass(frozen=True)
class Applied:
    case_id: int | None
    dispatch: bool  # send the case to the queue after the commit


def system_user(sessions: sessionmaker[Session], actor: str) -> Principal:
    """The sender's own account: a nurse's rights for intake and re-triage, disabled and
    with a name no login accepts (':'), so nobody can sign in as it."""
    return system_account(sessions, actor, Role.NURSE)


def register(sessions: sessionmaker[Session], received: Received, user: Principal) -> Applied:
    """ADT^A04: a new waiting case through intake's own service."""
    reg = hl7.registration(received, utcnow())
    vitals = hl7_vitals.vital_signs(received.message, required=False)
    key = idempotency_key(received)
    with sessions() as session:
        if find_by_idempotency_key(session, user, key) is None:
            if _open_cases(session, reg.patient_ref, lock=False):
                raise not_applied(
                    hl7.DUPLICATE_KEY,
                    "the patient in PID-3 already has an open case; send ADT A08 to update it",
                    ("PID", 1, 3),
                )
        if reg.age_years is None:
            raise not_applied(
                hl7.REQUIRED_FIELD_MISSING,
                "PID-7 birth date is missing: a case needs the age",
                ("PID", 1, 7),
            )
        case_in = _valid_case(
            {
                "patient_ref": reg.patient_ref,
                "age_years": reg.age_years,
                "sex": reg.sex or "unknown",
                "chief_complaint": reg.chief_complaint or NO_COMPLAINT,
                "vitals": vitals,
            }
        )
        try:
            case, created = create_case(session, user, case_in, key)
        except IdempotencyConflict:
            raise not_applied(
                hl7.DUPLICATE_KEY, "MSH-10 control id was already used for another registration"
            ) from None
        return Applied(case.id, dispatch=created)


def update_registration(
    session: Session, received: Received, user: Principal, areas: list[str]
) -> Applied:
    """ADT^A08: the open case's age, sex and complaint as sent; a change re-triages it
    (the lifecycle's observations action) with the vital signs as last recorded."""
    reg = hl7.registration(received, utcnow())
    vitals = hl7_vitals.vital_signs(received.message, required=False)
    case = _one_open_case(session, reg.patient_ref, "to update")
    sent = {"age_years": reg.age_years, "sex": reg.sex, "chief_complaint": reg.chief_complaint}
    changed = [k for k, v in sent.items() if v is not None and getattr(case, k) != v]
    if not changed and not vitals:
        return Applied(case.id, dispatch=False)
    _valid_case({**_intake(case), **{k: sent[k] for k in changed}})
    for name in changed:
        setattr(case, name, sent[name])
    if changed:
        audit.record(
            session,
            actor=user.username,
            action="case.registration_updated",
            case_id=case.id,
            detail={"fields": changed, "control_id": received.header.control_id},
        )
    fields = ", ".join(LABELS[name] for name in changed) or "no field changed"
    line = f"Registration updated by HL7 ADT A08 from {received.header.actor[4:]}: {fields}"
    if vitals:
        line += "; vital signs received"
    _retriage(session, user, case, vitals, line, areas)
    return Applied(case.id, dispatch=True)


def observe(session: Session, received: Received, user: Principal, areas: list[str]) -> Applied:
    """ORU^R01: the vital signs sent, over the ones last recorded, re-triage the case."""
    vitals = hl7_vitals.vital_signs(received.message)
    case = _one_open_case(session, hl7.patient_ref(received.message), "")
    line = f"Vital signs received by HL7 ORU R01 from {received.header.actor[4:]}"
    _retriage(session, user, case, vitals, line, areas)
    return Applied(case.id, dispatch=True)


def _retriage(
    session: Session,
    user: Principal,
    case: Case,
    sent: dict[str, Any],
    line: str,
    areas: list[str],
) -> None:
    merged = {**_latest_vitals(session, case), **sent}
    if "systolic_bp" in sent or "diastolic_bp" in sent:  # a pair: never half old, half new
        merged = {k: v for k, v in merged.items() if k not in ("systolic_bp", "diastolic_bp")}
        merged.update({k: sent[k] for k in ("systolic_bp", "diastolic_bp") if k in sent})
    try:
        vitals = VitalSigns.model_validate(merged)
        if vitals.model_dump(exclude={"spo2_scale2"}, exclude_none=True):
            data = ObservationIn(vitals=vitals, note=line)
        else:
            # A registration update of a case with no vital sign recorded yet: re-triage
            # all the same (the form's rule "at least one measured now" is for people).
            data = ObservationIn.model_construct(vitals=vitals, note=line)
    except ValidationError as exc:
        raise not_applied(hl7.DATA_TYPE_ERROR, _first_error(exc)) from None
    try:
        ACTIONS["observations"].apply(session, user, case, data, areas)
    except LifecycleError as exc:
        raise not_applied(hl7.APPLICATION_ERROR, exc.message) from None


def idempotency_key(received: Received) -> str:
    """Intake's idempotency key for an A04: its sender and control id, namespaced like the
    web's (api:, form:) so it never meets a person's key."""
    h = received.header
    sender = f"{h.sending_application}\n{h.sending_facility}\n{h.control_id}"
    return "hl7:" + hashlib.sha256(sender.encode()).hexdigest()[:40]


def _open_cases(session: Session, ref: str, lock: bool) -> list[Case]:
    query = (
        select(Case)
        .where(Case.patient_ref == ref, Case.care_status != CareStatus.DISPOSED)
        .order_by(Case.id)
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return list(session.scalars(query))


def _one_open_case(session: Session, ref: str, purpose: str) -> Case:
    cases = _open_cases(session, ref, lock=True)
    if not cases:
        text = f"no open case for the patient in PID-3 {purpose}".strip()
        raise not_applied(hl7.UNKNOWN_KEY, text, ("PID", 1, 3))
    if len(cases) > 1:
        raise not_applied(
            hl7.APPLICATION_ERROR,
            f"{len(cases)} open cases for the patient in PID-3; record this on the case page",
            ("PID", 1, 3),
        )
    return cases[0]


def _latest_vitals(session: Session, case: Case) -> dict[str, Any]:
    latest = session.scalar(
        select(Observation.vitals)
        .where(Observation.case_id == case.id)
        .order_by(Observation.id.desc())
        .limit(1)
    )
    stored = latest if latest is not None else case.vitals
    return {k: v for k, v in (stored or {}).items() if v is not None}


def _intake(case: Case) -> dict[str, Any]:
    return {
        "patient_ref": case.patient_ref,
        "age_years": case.age_years,
        "sex": case.sex,
        "chief_complaint": case.chief_complaint,
    }


def _valid_case(fields: dict[str, Any]) -> CaseIn:
    try:
        return CaseIn.model_validate(fields)
    except ValidationError as exc:
        raise not_applied(hl7.DATA_TYPE_ERROR, _first_error(exc)) from None


LABELS = {"age_years": "age", "sex": "sex", "chief_complaint": "chief complaint"}
SOURCE = {
    "patient_ref": "PID-3",
    "age_years": "PID-7",
    "sex": "PID-8",
    "chief_complaint": "PV2-3",
}


def _first_error(exc: ValidationError) -> str:
    """'PV2-3 chief_complaint: contains control characters': the field, never its value."""
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    name = loc[-1] if loc else "message"
    where = SOURCE.get(loc[0], "OBX") if loc else ""
    text = str(error["msg"]).removeprefix("Value error, ")
    return f"{where} {name}: {text}".strip()
