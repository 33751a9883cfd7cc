"""Site models in the database: the training data read from disposed cases, each trained
model stored as a new version (JSON, never a pickle), activation by an admin with an audit
event, and the active model for the worker."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import threading
import zoneinfo
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from shared import audit
from shared.calibration.features import extract, feature_names
from shared.calibration.nudge import Scorer
from shared.calibration.outcome import critical_outcome
from shared.calibration.training import Dataset, Trained
from shared.config import Settings
from shared.db.models import CalibrationModel, Case, Result, Role, User, utcnow
from shared.schemas import Assessment


class CalibrationError(ValueError):
    """A refused calibration action, in plain words (the CLI prints it)."""


def load_dataset(
    session: Session, since: dt.datetime, until: dt.datetime, settings: Settings
) -> tuple[Dataset, int]:
    """Disposed cases that arrived in [since, until) with their intake analysis: the
    features of the engine's first result and the critical outcome. Also returns how many
    disposed cases were left out (no result, or one that no longer reads as an Assessment)."""
    zone = zoneinfo.ZoneInfo(settings.timezone)
    intake = aliased(Result)
    first = (
        select(func.min(intake.id))
        .where(intake.case_id == Case.id, intake.analysis_key.not_like("%/obs%"))
        .correlate(Case)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Case, Result.payload)
        .outerjoin(Result, Result.id == first)
        .where(Case.disposition.is_not(None), Case.created_at >= since, Case.created_at < until)
        .order_by(Case.created_at, Case.id)
        .execution_options(yield_per=1000)
    )
    data, skipped = Dataset(feature_names()), 0
    for case, payload in rows:
        outcome = critical_outcome(case, admission_counts=settings.calibration_admission_outcome)
        try:
            assessment = Assessment.model_validate((payload or {})["assessment"])
        except (KeyError, ValidationError):
            skipped += 1
            continue
        if outcome is None:
            skipped += 1
            continue
        hour = case.created_at.astimezone(zone).hour
        row = extract(assessment, age_years=case.age_years, sex=case.sex, arrival_hour=hour)
        data.add(row, outcome, case.created_at, int(assessment.acuity))
    return data, skipped


def save(session: Session, trained: Trained, *, actor: str) -> CalibrationModel:
    """Store a trained model as the next version (inactive) with an audit event."""
    version = (session.scalar(select(func.max(CalibrationModel.version))) or 0) + 1
    row = CalibrationModel(
        version=version,
        created_by=actor,
        trained_since=trained.since,
        trained_until=trained.until,
        data_hash=trained.data_hash,
        n_cases=trained.n_cases,
        n_events=trained.n_events,
        features=trained.features,
        model=trained.model,
        metrics=trained.metrics,
        sklearn_version=trained.sklearn_version,
        active=False,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="calibration.trained",
        detail={
            "version": version,
            "n_cases": trained.n_cases,
            "n_events": trained.n_events,
            "data_hash": trained.data_hash,
        },
    )
    return row


def get_model(session: Session, version: int | None = None) -> CalibrationModel:
    """A stored version, or the newest when `version` is None."""
    query = select(CalibrationModel)
    if version is None:
        query = query.order_by(CalibrationModel.version.desc()).limit(1)
    else:
        query = query.where(CalibrationModel.version == version)
    row = session.scalar(query)
    if row is None:
        raise CalibrationError(
            "no calibration model has been trained" if version is None else f"no version {version}"
        )
    return row


class WrongAdminPassword(CalibrationError):
    """The admin's password was not right: nothing was done."""


def os_user() -> str:
    """Who ran the command on the server (the OS account), for the audit detail."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a container): the uid itself
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _admin(session: Session, username: str, password: str) -> User:
    """The active admin `username`, proven by their password (shared.accounts' bounded
    argon2 check, the web login's): the server's environment alone is not an admin."""
    from shared.accounts import check_login

    checked = check_login(session, username, password)
    user = checked.user
    if checked.failure == "wrong password":
        raise WrongAdminPassword(f"wrong password for {username!r}: nothing was done")
    if user is None or user.role != Role.ADMIN:
        raise CalibrationError(f"{username!r} is not an active admin: only an admin may do this")
    return user


def activate(
    session: Session,
    version: int,
    *,
    admin: str,
    password: str,
    settings: Settings,
    run_by: str | None = None,
) -> CalibrationModel:
    """Make `version` the one the worker uses (the one before stops); refused below the
    site's minimum of critical outcomes in its training data. `admin` and `password`: an
    active admin's own credentials; `run_by`: the OS user who ran it (default: this
    process's), both in the audit detail."""
    user = _admin(session, admin, password)
    row = get_model(session, version)
    if row.n_events < settings.calibration_min_events:
        raise CalibrationError(
            f"version {version} was trained on {row.n_events} critical outcomes; at least "
            f"{settings.calibration_min_events} are needed (MEDTRIAGE_CALIBRATION_MIN_EVENTS)"
        )
    Scorer.from_json(row.version, row.features, row.model)  # refuse what cannot score
    previous = session.scalar(select(CalibrationModel.version).where(CalibrationModel.active))
    session.execute(update(CalibrationModel).values(active=False))
    row.active, row.activated_at, row.activated_by = True, utcnow(), user.username
    audit.record(
        session,
        actor=user.username,
        action="calibration.activated",
        detail={"version": version, "previous": previous, "n_events": row.n_events,
                "os_user": run_by or os_user()},
    )  # fmt: skip
    return row


def deactivate(
    session: Session, *, admin: str, password: str, run_by: str | None = None
) -> int | None:
    """No model scores cases any more; returns the version that stopped (None: none was).
    The same credentials as `activate`."""
    user = _admin(session, admin, password)
    previous = session.scalar(select(CalibrationModel.version).where(CalibrationModel.active))
    if previous is not None:
        session.execute(update(CalibrationModel).values(active=False))
        audit.record(
            session,
            actor=user.username,
            action="calibration.deactivated",
            detail={"version": previous, "os_user": run_by or os_user()},
        )
    return previous


_cache: dict[tuple[Any, ...], Scorer] = {}
_lock = threading.Lock()


def active_scorer(session: Session) -> Scorer | None:
    """The active model, parsed once per process (a stored version never changes; the key
    holds its hash and time too, so a database rebuilt with the same ids is not confused)."""
    found: Any = session.execute(
        select(
            CalibrationModel.id,
            CalibrationModel.version,
            CalibrationModel.data_hash,
            CalibrationModel.created_at,
        ).where(CalibrationModel.active)
    ).first()
    if found is None:
        return None
    key = tuple(found)
    with _lock:
        scorer = _cache.get(key)
    if scorer is None:
        row = session.get(CalibrationModel, found.id)
        assert row is not None
        scorer = Scorer.from_json(row.version, row.features, row.model)
        with _lock:
            _cache[key] = scorer
    return scorer
