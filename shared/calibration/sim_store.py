"""Simulated cases written into a development database (`medtriage calibrate simulate`):
each a disposed case with the engine's result and a disposition and follow-up that carry
the simulator's outcome, so `calibrate train` has something to learn from. Never on a live
site: the cases are marked by their submitter, an inactive user `calibration-simulator`."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.calibration.simulator import SimulatedCase, simulate
from shared.db.models import (
    CareStatus,
    Case,
    CaseStatus,
    Disposition,
    FollowUp,
    LevelOfCare,
    Result,
    Role,
    User,
)

SIMULATOR = "calibration-simulator"
BATCH = 1000


def _simulator(session: Session) -> User:
    user = session.scalar(select(User).where(User.username == SIMULATOR))
    if user is None:  # no password: "!" is no argon2 hash, so it can never log in
        user = User(
            username=SIMULATOR,
            password_hash="!",  # noqa: S106 - no argon2 hash: it can never log in
            role=Role.NURSE,
            active=False,
        )
        session.add(user)
        session.flush()
    return user


def _disposition(sim: SimulatedCase, draw: float) -> tuple[Disposition, LevelOfCare | None,
                                                           FollowUp | None]:  # fmt: skip
    """A disposition and follow-up that say what the simulator decided happened."""
    if sim.outcome:
        if draw < 0.1:
            return Disposition.DECEASED, None, None
        if draw < 0.55:
            return Disposition.ADMIT, LevelOfCare.ICU, None
        if draw < 0.9:
            return Disposition.ADMIT, LevelOfCare.HDU, None
        return Disposition.DISCHARGE, None, FollowUp.DIED_WITHIN_30_DAYS
    if draw < 0.2:
        return Disposition.ADMIT, LevelOfCare.WARD, None
    if draw < 0.25:
        return Disposition.TRANSFER, None, None
    if draw < 0.3:
        return Disposition.LEFT_WITHOUT_BEING_SEEN, None, None
    return Disposition.DISCHARGE, None, None


def _rows(sim: SimulatedCase, user_id: int, draw: float) -> Case:
    assessment = sim.assessment
    reasons = [r.model_dump(mode="json") for r in assessment.reasons]
    disposition, care, followup = _disposition(sim, draw)
    case = Case(
        public_id=str(uuid.uuid4()),
        submitted_by_id=user_id,
        age_years=sim.case.age_years,
        sex=sim.case.sex.value,
        chief_complaint=sim.case.chief_complaint,
        note="",
        vitals=sim.case.vitals.model_dump(mode="json"),
        status=CaseStatus.CLOSED,
        provisional_risk=assessment.risk_level,
        provisional_reasons=reasons,
        provisional_acuity=assessment.acuity,
        vitals_documented=assessment.vitals_documented,
        created_at=sim.arrived,
        updated_at=sim.arrived,
        last_assessed_at=sim.arrived,
        analyzed_at=sim.arrived,
        care_status=CareStatus.DISPOSED,
        disposition=disposition,
        level_of_care=care,
        disposed_at=sim.arrived + dt.timedelta(hours=3),
        disposed_by_id=user_id,
        followup=followup,
        followup_at=None if followup is None else sim.arrived + dt.timedelta(days=30),
    )
    case.set_engine_acuity(assessment.acuity)
    case.results.append(
        Result(
            analysis_key="simulated",
            acuity=assessment.acuity,
            risk_level=assessment.risk_level,
            payload={
                "acuity": int(assessment.acuity),
                "simulated": True,
                "assessment": assessment.model_dump(mode="json"),
            },
            pipeline="simulated",
            pipeline_version="1",
            model_ids="calibration-simulator",
            worker_host="simulator",
            duration_ms=0.0,
            created_at=sim.arrived,
        )
    )
    return case


def store_simulated(session: Session, count: int, *, seed: int, days: int) -> int:
    """Write `count` simulated cases arriving over the last `days`; returns the outcomes."""
    import numpy as np

    user = _simulator(session)
    rng = np.random.default_rng(seed + 1)
    until = dt.datetime.now(dt.UTC)
    events, batch = 0, []
    for sim in simulate(count, seed=seed, since=until - dt.timedelta(days=days), until=until):
        events += sim.outcome
        batch.append(_rows(sim, user.id, float(rng.random())))
        if len(batch) >= BATCH:
            session.add_all(batch)
            session.flush()
            batch = []
    session.add_all(batch)
    audit.record(
        session,
        actor="cli",
        action="calibration.simulated",
        detail={"cases": count, "critical_outcomes": events, "seed": seed, "days": days},
    )
    return events
