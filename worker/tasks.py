"""Tasks: analyze one case, idempotently, inside a lease."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from shared import audit
from shared.board import stored_conflicts
from shared.calibration.apply import calibrate
from shared.db import Case, CaseStatus, Result, utcnow
from shared.db.models import Observation
from shared.imaging.cases import analyze_case_images
from shared.lifecycle import LifecycleError, escalate, intake_fields, retriage_input
from shared.pipelines.model import model_columns
from shared.pipelines.multimodal import add_image_text
from shared.queue import TASK_ANALYZE
from shared.schemas import Acuity, CaseIn, TriageResult, VitalSigns
from worker.app import celery_app, settings
from worker.runtime import Runtime, get_runtime

log = logging.getLogger(__name__)

DONE = (CaseStatus.ANALYZED, CaseStatus.CLOSED)


@contextlib.contextmanager
def heartbeat(rt: Runtime, case_id: int, token: str) -> Iterator[None]:
    """Keep the lease alive while the pipeline runs; the reconciler watches it."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(max(rt.settings.lease_ttl_s / 3, 0.2)):
            with contextlib.suppress(Exception):
                rt.dispatcher.refresh_lease(case_id, token)

    thread = threading.Thread(target=beat, name=f"lease-{case_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)


def analysis_key(rt: Runtime, observation_id: int | None = None) -> str:
    """One result per pipeline version for the intake, and one per re-triage observation."""
    key = f"{rt.pipeline.name}@{rt.pipeline.version}"
    return key if observation_id is None else f"{key}/obs{observation_id}"


@dataclass(frozen=True)
class Target:
    """What one delivery analyzes: the intake, or the latest re-triage observation."""

    key: str
    observation_id: int | None
    stored: dict[str, Any]


def _target(rt: Runtime, session: Session, case: Case) -> Target:
    observations = session.scalars(
        select(Observation).where(Observation.case_id == case.id).order_by(Observation.id)
    ).all()
    if observations and observations[-1].result_id is None:
        latest = observations[-1]
        vitals = VitalSigns.model_validate(latest.vitals)
        case_in = retriage_input(case, [o.note_line for o in observations], vitals)
        return Target(analysis_key(rt, latest.id), latest.id, case_in.model_dump(mode="json"))
    return Target(analysis_key(rt), None, intake_fields(case))


def claim(rt: Runtime, case_id: int) -> Target | None:
    """Mark the case running and return what to analyze; None if it is gone or done."""
    with rt.sessions.begin() as session:
        case = session.get(Case, case_id)
        if case is None:
            log.warning("case %s not found; message dropped", case_id)
            return None
        if case.status == CaseStatus.CLOSED:
            log.info("case %s is closed; message dropped", case_id)
            return None
        try:
            target = _target(rt, session, case)
        except LifecycleError as exc:
            mark_failed(rt, session, case, exc.message)
            return None
        done = session.scalar(
            select(Result.id).where(Result.case_id == case_id, Result.analysis_key == target.key)
        )
        if done is not None or (target.observation_id is None and case.status in DONE):
            log.info("case %s already analyzed; redelivery ignored", case_id)
            if case.status in (CaseStatus.QUEUED, CaseStatus.RUNNING):
                case.status = CaseStatus.ANALYZED  # nothing is left to analyze
            return None
        if case.attempts >= rt.settings.max_attempts:
            # A case that keeps killing its worker (hard time limit, out of memory) stops
            # here instead of cycling forever; the board keeps its provisional risk.
            log.warning("case %s: giving up after %s attempts", case_id, case.attempts)
            mark_failed(rt, session, case, f"analysis did not complete in {case.attempts} attempts")
            return None
        case.status = CaseStatus.RUNNING
        case.started_at = utcnow()
        case.attempts += 1
        return target


def run_pipeline(rt: Runtime, stored: dict[str, Any]) -> TriageResult:
    started = time.perf_counter()
    # Validated here, under the pipeline's error handling: a stored case that no longer
    # fits the schema fails cleanly instead of poisoning the queue.
    result = rt.pipeline.analyze(CaseIn.model_validate(stored))
    result = result.model_copy(update={"worker": dict(rt.identity)})
    result.timings_ms["pipeline_total"] = round((time.perf_counter() - started) * 1000, 3)
    return result


def store(rt: Runtime, case_id: int, result: TriageResult, target: Target) -> str:
    """Write the result, final acuity, status and audit event in one transaction.

    A clinician's override keeps ordering the board; the engine's new level is recorded
    beside it. A result for an observation that a newer re-triage has superseded is kept as
    history and changes nothing on the case.
    """
    try:
        with rt.sessions.begin() as session:
            case = session.get(Case, case_id)
            if case is None:
                return "missing"
            latest = session.scalar(
                select(func.max(Observation.id)).where(Observation.case_id == case_id)
            )
            current = target.observation_id == latest
            observation = (
                session.get(Observation, target.observation_id)
                if target.observation_id is not None
                else None
            )
            # The engine's floor stands: a pipeline may make the level more urgent, never less.
            if observation is not None:
                floor = observation.engine_acuity
            else:
                floor = case.provisional_acuity if current else result.acuity
            final = Acuity.most_urgent(floor, result.acuity)
            # Site calibration, a step after the engine: may make it one level more urgent.
            calibrated = calibrate(session, case, result, final, rt.settings)
            final = calibrated.acuity
            row = Result(
                case_id=case_id,
                analysis_key=target.key,
                acuity=final,
                risk_level=final.risk_level,
                payload=calibrated.payload(result),
                pipeline=result.pipeline,
                pipeline_version=result.pipeline_version,
                model_ids=",".join(m.name for m in result.models),
                model_revisions=",".join(m.revision or "-" for m in result.models),
                worker_host=str(rt.identity["host"]),
                duration_ms=result.timings_ms["pipeline_total"],
                **model_columns(result),
                calibration_version=calibrated.version,
            )
            session.add(row)
            session.flush()
            if observation is not None:
                observation.result_id = row.id
            actor = f"worker:{rt.identity['host']}"
            if current:
                before = case.engine_acuity
                case.set_engine_acuity(final)
                if final < before:
                    escalate(session, case, before, final, actor)
                # The board shows what the latest analysis found, as the case page does.
                case.vitals_documented = result.assessment.vitals_documented
                case.vital_conflicts = stored_conflicts(result.assessment)
                if case.status != CaseStatus.CLOSED:
                    case.status = CaseStatus.ANALYZED
                case.analyzed_at = utcnow()
                case.last_error = None
            audit.record(
                session,
                actor=actor,
                action="case.analyzed",
                case_id=case_id,
                detail={
                    "acuity": int(final),
                    "pipeline_acuity": int(result.acuity),
                    "risk_level": final.risk_level.value,
                    "pipeline": result.pipeline,
                    "observation_id": target.observation_id,
                    "superseded": not current,
                    "override_acuity": case.override_acuity and int(case.override_acuity),
                    "calibration_version": calibrated.version,
                },
            )
    except IntegrityError:
        log.info("case %s: a concurrent execution stored the result first", case_id)
        return "duplicate"
    return final.label


def mark_failed(rt: Runtime, session: Session, case: Case, reason: str) -> None:
    case.status = CaseStatus.FAILED
    case.last_error = reason[:500]
    audit.record(
        session,
        actor=f"worker:{rt.identity['host']}",
        action="case.failed",
        case_id=case.id,
        detail={"error": reason[:200]},
    )


def fail(rt: Runtime, case_id: int, reason: str) -> None:
    with rt.sessions.begin() as session:
        case = session.get(Case, case_id)
        if case is not None and case.status not in DONE:
            mark_failed(rt, session, case, reason)


def run_analysis(rt: Runtime, case_id: int) -> str:
    """The whole life of one delivery; returns what happened, for logs and tests."""
    token = rt.dispatcher.acquire_lease(case_id)
    if token is None:
        log.info("case %s is leased by a live execution; duplicate delivery ignored", case_id)
        return "leased"
    try:
        target = claim(rt, case_id)
        if target is None:
            outcome = "skipped"
        else:
            with heartbeat(rt, case_id, token):
                try:
                    analyze_case_images(rt.sessions, rt.settings, case_id)  # never fails it
                    result = run_pipeline(rt, target.stored)
                    # Image + text, when configured and the case has images; never fails it.
                    result = add_image_text(
                        rt.sessions, rt.settings, case_id, target.stored, result
                    )
                except SoftTimeLimitExceeded:
                    result, outcome = None, "analysis exceeded its time limit"
                except Exception as exc:  # noqa: BLE001 - a pipeline error fails this case only
                    # The class and the frames, never the message: it may quote the note.
                    log.error(
                        "case %s: pipeline error %s\n%s",
                        case_id,
                        type(exc).__name__,
                        "".join(traceback.format_tb(exc.__traceback__)),
                    )
                    result, outcome = None, f"{type(exc).__name__} in the pipeline"
            if result is None:
                fail(rt, case_id, outcome)
                outcome = "failed"
            else:
                outcome = store(rt, case_id, result, target)
        rt.dispatcher.clear_marker(case_id)
        return outcome
    except DBAPIError:
        # Database outage: drop the marker so the reconciler re-sends once it is back.
        with contextlib.suppress(Exception):
            rt.dispatcher.clear_marker(case_id)
        raise
    finally:
        with contextlib.suppress(Exception):
            rt.dispatcher.release_lease(case_id, token)


@celery_app.task(name=TASK_ANALYZE, acks_late=True, reject_on_worker_lost=True)
def analyze_case(case_id: int) -> str:
    """Analyze case `case_id`; safe to deliver more than once."""
    rt = get_runtime(settings)
    if rt.settings.model_batch_size > 1 and hasattr(rt.pipeline, "analyze_many"):
        from worker.batching import run_batch  # with queued companions (README: batching)

        return run_batch(rt, int(case_id))
    return run_analysis(rt, int(case_id))
