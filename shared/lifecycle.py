"""Case lifecycle: acknowledge, move, re-triage, override, dispose, notes.

The web's blueprints call `act`; they never touch the ORM models themselves. Each action
checks the role, refuses what the case's state does not allow, and writes its change and its
audit event in one transaction. An Idempotency-Key makes a repeated request one action.
A re-triage is sent to the queue by the caller, after the commit, like intake.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared import audit
from shared.accounts import Principal
from shared.board import stored_conflicts
from shared.clinical.engine import assess_case
from shared.db.models import (
    ActionKey,
    CareStatus,
    Case,
    CaseNote,
    CaseStatus,
    Disposition,
    FollowUp,
    Observation,
    Role,
    User,
    utcnow,
)
from shared.lifecycle_inputs import (
    AcknowledgeIn,
    AreaIn,
    CaseNotFound,
    DispositionIn,
    FollowUpIn,
    LifecycleError,
    NotAllowed,
    NoteIn,
    ObservationIn,
    OverrideIn,
    StateConflict,
)
from shared.nlp.vitals import retriage_line
from shared.schemas import MAX_NOTE_CHARS, Acuity, CaseIn, VitalSigns

CARE_ROLES = frozenset({Role.NURSE, Role.CLINICIAN})


@dataclass(frozen=True)
class Action:
    schema: type[BaseModel]
    roles: frozenset[Role]
    apply: Callable[[Session, Principal, Case, Any, list[str]], None]
    open_only: bool = True  # refused once the case is disposed


@dataclass
class Outcome:
    case: Case
    replayed: bool = False
    dispatch: bool = False  # a re-triage: send the case to the queue after the commit


def _actor(user: Principal) -> str:
    return user.username


def _acknowledge(
    session: Session, user: Principal, case: Case, data: AcknowledgeIn, areas: list[str]
) -> None:
    if data.assign_to in ("", "me"):
        assignee_id, assignee = user.id, user.username
    else:
        found = session.scalar(select(User).where(User.username == data.assign_to.lower()))
        if found is None or not found.active or found.role != Role.CLINICIAN:
            raise LifecycleError(f"No active clinician named {data.assign_to!r}.", "assign_to")
        assignee_id, assignee = found.id, found.username
    if data.area is not None and data.area not in areas:
        raise LifecycleError(f"Area must be one of: {', '.join(areas)}.", "area")
    escalation = case.escalated_at is not None
    previous = case.care_status
    case.care_status = CareStatus.IN_ASSESSMENT
    case.assigned_to_id = assignee_id
    case.acknowledged_at = utcnow()
    case.area = data.area or case.area
    case.escalated_at = case.escalated_from = None
    audit.record(
        session,
        actor=_actor(user),
        action="case.acknowledged",
        case_id=case.id,
        detail={
            "assigned_to": assignee,
            "area": case.area,
            "previous_care_status": previous.value,
            "escalation_acknowledged": escalation,
        },
    )


def _move(session: Session, user: Principal, case: Case, data: AreaIn, areas: list[str]) -> None:
    if data.area not in areas:
        raise LifecycleError(f"Area must be one of: {', '.join(areas)}.", "area")
    previous, case.area = case.area, data.area
    audit.record(
        session,
        actor=_actor(user),
        action="case.moved",
        case_id=case.id,
        detail={"from": previous, "to": data.area},
    )


def intake_fields(case: Case) -> dict[str, Any]:
    """The case as it came in, as `CaseIn` fields (stored values, not validated again)."""
    return {
        "patient_ref": case.patient_ref,
        "age_years": case.age_years,
        "sex": case.sex,
        "pregnant": case.pregnant,
        "chief_complaint": case.chief_complaint,
        "note": case.note,
        "vitals": case.vitals,
    }


def retriage_input(case: Case, lines: list[str], vitals: VitalSigns) -> CaseIn:
    """What a re-triage analyzes: the case as it came in, the note with every re-triage line
    after it (the latest last), and the vital signs measured now."""
    note = "\n".join([case.note, *(retriage_line(line) for line in lines)]).strip()
    if len(note) > MAX_NOTE_CHARS:
        raise LifecycleError("The note and its re-triage lines are too long to analyze.", "note")
    return CaseIn(
        patient_ref=case.patient_ref,
        age_years=case.age_years,
        sex=case.sex,  # type: ignore[arg-type]  # validated into Sex
        pregnant=case.pregnant,
        chief_complaint=case.chief_complaint,
        note=note,
        vitals=vitals,
    )


def note_lines(session: Session, case_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Observation.note_line)
            .where(Observation.case_id == case_id)
            .order_by(Observation.id)
        )
    )


def escalate(session: Session, case: Case, before: Acuity, after: Acuity, actor: str) -> None:
    """The engine's level became more urgent: flag the case until someone acknowledges it
    (an escalation not yet acknowledged keeps the level it started from)."""
    if case.escalated_at is None:
        case.escalated_from = before
    case.escalated_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="case.escalated",
        case_id=case.id,
        detail={"from_acuity": int(before), "to_acuity": int(after)},
    )


def _observe(
    session: Session, user: Principal, case: Case, data: ObservationIn, _areas: list[str]
) -> None:
    case_in = retriage_input(case, [*note_lines(session, case.id), data.note], data.vitals)
    assessment = assess_case(case_in)
    reasons = [r.model_dump(mode="json") for r in assessment.reasons]
    now = utcnow()
    observation = Observation(
        case_id=case.id,
        recorded_by_id=user.id,
        recorded_at=now,
        vitals=data.vitals.model_dump(mode="json"),
        note_line=data.note,
        engine_acuity=assessment.acuity,
        news2_total=assessment.news2.total,
        reasons=reasons,
    )
    session.add(observation)
    session.flush()
    before = case.engine_acuity
    # The re-triage's level at once, like intake's; the worker's analysis follows.
    case.provisional_acuity = assessment.acuity
    case.provisional_risk = assessment.risk_level
    case.provisional_reasons = reasons
    case.set_engine_acuity(assessment.acuity)
    case.vitals_documented = assessment.vitals_documented
    case.vital_conflicts = stored_conflicts(assessment)
    case.status = CaseStatus.QUEUED
    case.attempts = 0
    case.last_error = None
    case.dispatched_at = now
    case.last_assessed_at = now  # the re-assessment clock restarts
    audit.record(
        session,
        actor=_actor(user),
        action="case.retriaged",
        case_id=case.id,
        detail={
            "observation_id": observation.id,
            "engine_acuity": int(assessment.acuity),
            "previous_engine_acuity": int(before),
            "news2_total": assessment.news2.total,
            "vitals_documented": assessment.vitals_documented,
        },
    )
    if assessment.acuity < before:
        escalate(session, case, before, assessment.acuity, _actor(user))


def _override(
    session: Session, user: Principal, case: Case, data: OverrideIn, _areas: list[str]
) -> None:
    previous = case.acuity
    if data.acuity is None:
        if case.override_acuity is None:
            raise StateConflict("This case has no override to withdraw.", "acuity")
        withdrawn = case.override_acuity
        case.override_acuity = case.override_reason = None
        case.override_by_id = case.override_at = None
        case.set_acuity(case.engine_acuity)
        action, detail = "case.override_withdrawn", {"withdrawn_acuity": int(withdrawn)}
    else:
        case.override_acuity = data.acuity
        case.override_reason = data.reason
        case.override_by_id = user.id
        case.override_at = utcnow()
        case.set_acuity(data.acuity)
        action, detail = "case.overridden", {"acuity": int(data.acuity)}
    audit.record(
        session,
        actor=_actor(user),
        action=action,
        case_id=case.id,
        detail={
            **detail,
            "engine_acuity": int(case.engine_acuity),
            "previous_acuity": int(previous),
            "reason": data.reason,
        },
    )


def _dispose(
    session: Session, user: Principal, case: Case, data: DispositionIn, _areas: list[str]
) -> None:
    if user.role == Role.NURSE and data.disposition != Disposition.LEFT_WITHOUT_BEING_SEEN:
        raise NotAllowed(
            "A nurse may record only 'left without being seen'; "
            "other dispositions are a clinician's.",
            "disposition",
        )
    case.care_status = CareStatus.DISPOSED
    case.disposition = data.disposition
    case.level_of_care = data.level_of_care
    case.disposed_at = utcnow()
    case.disposed_by_id = user.id
    case.status = CaseStatus.CLOSED  # off the board; a pending analysis is skipped
    audit.record(
        session,
        actor=_actor(user),
        action="case.disposed",
        case_id=case.id,
        detail={
            "disposition": data.disposition.value,
            "level_of_care": data.level_of_care and data.level_of_care.value,
        },
    )


def _follow_up(
    session: Session, user: Principal, case: Case, data: FollowUpIn, _areas: list[str]
) -> None:
    """The outcome after the disposition (site calibration learns from it); a correction
    replaces it and the audit trail keeps both."""
    if case.care_status != CareStatus.DISPOSED:
        raise StateConflict("A follow-up is recorded after the disposition.", "outcome")
    previous: FollowUp | None = case.followup
    case.followup = data.outcome
    case.followup_at = utcnow()
    audit.record(
        session,
        actor=_actor(user),
        action="case.followed_up",
        case_id=case.id,
        detail={"outcome": data.outcome.value, "previous": previous and previous.value},
    )


def _note(session: Session, user: Principal, case: Case, data: NoteIn, _areas: list[str]) -> None:
    note = CaseNote(case_id=case.id, author_id=user.id, at=utcnow(), text=data.text)
    session.add(note)
    session.flush()
    audit.record(
        session,
        actor=_actor(user),
        action="case.note_added",
        case_id=case.id,
        # The digest, not the text: the audit chain then shows if the note was edited later.
        detail={"note_id": note.id, "sha256": hashlib.sha256(data.text.encode()).hexdigest()},
    )


ACTIONS: dict[str, Action] = {
    "acknowledge": Action(AcknowledgeIn, CARE_ROLES, _acknowledge),
    "area": Action(AreaIn, CARE_ROLES, _move),
    "observations": Action(ObservationIn, CARE_ROLES, _observe),
    "override": Action(OverrideIn, frozenset({Role.CLINICIAN}), _override),
    "disposition": Action(DispositionIn, CARE_ROLES, _dispose),
    "notes": Action(NoteIn, CARE_ROLES, _note, open_only=False),
    "followup": Action(FollowUpIn, frozenset({Role.CLINICIAN}), _follow_up, open_only=False),
}


def may(user: Principal, action: str) -> bool:
    return user.role in ACTIONS[action].roles


def _load(session: Session, public_id: str) -> Case:
    query = select(Case).where(Case.public_id == public_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # SQLite: BEGIN IMMEDIATE already serializes writers
    case = session.scalar(query)
    if case is None:
        raise CaseNotFound("No case with this id.")
    return case


def request_hash(action: str, data: BaseModel) -> str:
    """What a key was used for: the action and its validated fields (a retry that sends the
    same fields in another order or spacing is the same request)."""
    return hashlib.sha256(f"{action}\n{data.model_dump_json()}".encode()).hexdigest()


def _replay(
    session: Session, user: Principal, key: str, public_id: str, action: str, digest: str
) -> Case | None:
    prior = session.scalar(
        select(ActionKey).where(ActionKey.user_id == user.id, ActionKey.key == key)
    )
    if prior is None:
        return None
    case = session.get(Case, prior.case_id)
    if case is None or case.public_id != public_id or prior.action != action:
        raise StateConflict("This Idempotency-Key was already used for another request.")
    if prior.request_hash is not None and prior.request_hash != digest:
        raise LifecycleError(
            "This Idempotency-Key was already used with different values; nothing was "
            "changed. Send a new key for a new request.",
            "Idempotency-Key",
        )
    return case


def act(
    session: Session,
    user: Principal,
    public_id: str,
    action: str,
    data: BaseModel,
    *,
    areas: list[str],
    key: str | None = None,
) -> Outcome:
    """Do `action` on the case, once per key; commits. Raises LifecycleError."""
    spec = ACTIONS[action]
    if user.role not in spec.roles:
        raise NotAllowed("Your role does not allow this.")
    digest = request_hash(action, data)
    if key is not None:
        replayed = _replay(session, user, key, public_id, action, digest)
        if replayed is not None:
            session.rollback()
            return Outcome(replayed, replayed=True)
    case = _load(session, public_id)
    try:
        if spec.open_only and case.care_status == CareStatus.DISPOSED:
            label = case.disposition.label if case.disposition else "closed"
            raise StateConflict(f"This case is closed ({label}); nothing was changed.")
        spec.apply(session, user, case, data, areas)
        if key is not None:
            session.add(
                ActionKey(
                    user_id=user.id, key=key, case_id=case.id, action=action, request_hash=digest
                )
            )
        session.commit()
    except LifecycleError:
        session.rollback()
        raise
    except IntegrityError:
        session.rollback()
        # Two requests with one key raced: the first one's commit stands.
        replayed = _replay(session, user, key, public_id, action, digest) if key else None
        if replayed is None:
            raise
        session.rollback()
        return Outcome(replayed, replayed=True)
    return Outcome(case, dispatch=action == "observations")


def clinicians(session: Session) -> list[str]:
    """Active clinicians a case can be assigned to, by name."""
    return list(
        session.scalars(
            select(User.username)
            .where(User.role == Role.CLINICIAN, User.active.is_(True))
            .order_by(User.username)
        )
    )
