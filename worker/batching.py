"""Several queued cases in one model call (MEDTRIAGE_MODEL_BATCH_SIZE > 1).

The task's own case leads. The worker then claims up to size - 1 more queued cases from the
database, in board order (acuity, then documented vital signs, then arrival), each with its
own lease and heartbeat exactly as a single delivery holds it, and runs the pipeline on them
together (`analyze_many`: one padded batch in process, concurrent requests to a server).
Each result is stored on its own, in its own transaction, exactly as a single delivery
stores it, as soon as that case is done: a batch shares one task time limit
(MEDTRIAGE_TASK_SOFT_TIME_LIMIT_S), and running past it fails only the cases not yet
finished, never a lead already analyzed (after a failed batch call the cases run one by one,
lead first, each stored before the next starts). The companions' own messages stay on the
queue: delivered later, they find the result stored and are dropped (worker.tasks.claim), as
any redelivery is. A worker killed mid-batch leaves every claimed case `running` with a
lapsing lease, which the reconciler re-sends, as for a single case. Nothing here holds
patient data in Redis or the logs.
"""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from shared.db import Case, CaseStatus
from shared.imaging.cases import analyze_case_images
from shared.pipelines.multimodal import add_image_text
from shared.schemas import CaseIn, TriageResult
from worker.runtime import Runtime
from worker.tasks import Target, claim, fail, heartbeat, store

log = logging.getLogger(__name__)


def companions(rt: Runtime, lead: int, want: int) -> list[int]:
    """Ids of other queued cases in the order the board and the queue serve them."""
    with rt.sessions() as session:
        return list(
            session.scalars(
                select(Case.id)
                .where(Case.status == CaseStatus.QUEUED, Case.id != lead)
                .order_by(Case.acuity, Case.vitals_documented, Case.created_at, Case.id)
                .limit(want * 3)  # some are leased by another worker or turn out done
            )
        )


def claim_batch(rt: Runtime, lead: int, leases: dict[int, str]) -> dict[int, Target]:
    """The lead's target, then up to batch size - 1 companions claimed under their leases."""
    targets: dict[int, Target] = {}
    target = claim(rt, lead)
    if target is None:
        return targets
    targets[lead] = target
    want = rt.settings.model_batch_size - 1
    for case_id in companions(rt, lead, want):
        if len(targets) > want:
            break
        token = rt.dispatcher.acquire_lease(case_id)
        if token is None:
            continue  # another execution runs it
        leases[case_id] = token
        other = claim(rt, case_id)
        if other is None:
            rt.dispatcher.release_lease(case_id, leases.pop(case_id))
            continue
        targets[case_id] = other
    return targets


Finish = Callable[[int, TriageResult | str], None]


def analyze_batch(rt: Runtime, targets: dict[int, Target], finish: Finish) -> None:
    """Each case's result, or why it failed (a class name, never the message), handed to
    `finish` as soon as that case is done: a later case running past the soft time limit
    then fails only the cases not yet finished, never one already analyzed."""
    cases: dict[int, CaseIn] = {}
    for case_id, target in targets.items():
        analyze_case_images(rt.sessions, rt.settings, case_id)  # never fails it
        try:
            cases[case_id] = CaseIn.model_validate(target.stored)
        except ValidationError:
            finish(case_id, "ValidationError in the pipeline")
    started = time.perf_counter()
    ids = list(cases)
    batch = {"id": uuid.uuid4().hex, "size": len(ids)}

    def done(position: int, case_id: int, result: TriageResult | str, elapsed: float) -> None:
        if isinstance(result, str):
            finish(case_id, result)
            return
        worker: dict[str, Any] = dict(rt.identity) | {"batch": batch | {"position": position}}
        result = result.model_copy(update={"worker": worker})
        result.timings_ms["pipeline_total"] = elapsed
        try:
            result = add_image_text(
                rt.sessions, rt.settings, case_id, targets[case_id].stored, result
            )
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:  # noqa: BLE001 - as the single path: this case fails alone
            finish(case_id, _failed(case_id, exc))
            return
        finish(case_id, result)

    analyze_many = getattr(rt.pipeline, "analyze_many")  # noqa: B009 - checked by the caller
    try:
        results = list(analyze_many([cases[i] for i in ids]))
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:  # noqa: BLE001 - the batch failed: each case alone, in order
        log.warning("batch of %s cases failed (%s); one by one", len(ids), type(exc).__name__)
        for position, case_id in enumerate(ids):
            one = time.perf_counter()
            result = _one(rt, case_id, cases[case_id])
            done(position, case_id, result, round((time.perf_counter() - one) * 1000, 3))
        return
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    for position, (case_id, result) in enumerate(zip(ids, results, strict=True)):
        done(position, case_id, result, elapsed)


def _one(rt: Runtime, case_id: int, case: CaseIn) -> TriageResult | str:
    try:
        return rt.pipeline.analyze(case)
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:  # noqa: BLE001 - a pipeline error fails this case only
        return _failed(case_id, exc)


def _failed(case_id: int, exc: Exception) -> str:
    # The class and the frames, never the message: it may quote the note.
    log.error(
        "case %s: pipeline error %s\n%s",
        case_id,
        type(exc).__name__,
        "".join(traceback.format_tb(exc.__traceback__)),
    )
    return f"{type(exc).__name__} in the pipeline"


def run_batch(rt: Runtime, case_id: int) -> str:
    """The lead case's delivery, with its companions; returns what happened to the lead."""
    token = rt.dispatcher.acquire_lease(case_id)
    if token is None:
        log.info("case %s is leased by a live execution; duplicate delivery ignored", case_id)
        return "leased"
    leases = {case_id: token}
    try:
        targets = claim_batch(rt, case_id, leases)
        if not targets:
            rt.dispatcher.clear_marker(case_id)
            return "skipped"
        outcomes: dict[int, str] = {}

        def finish(held: int, result: TriageResult | str) -> None:
            # Stored (or failed) the moment it is done, in its own transaction.
            if isinstance(result, str):
                fail(rt, held, result)
                outcomes[held] = "failed"
            else:
                outcomes[held] = store(rt, held, result, targets[held])
            rt.dispatcher.clear_marker(held)

        with contextlib.ExitStack() as stack:
            for held, lease in leases.items():
                stack.enter_context(heartbeat(rt, held, lease))
            try:
                analyze_batch(rt, targets, finish)
            except SoftTimeLimitExceeded:
                # Only the cases not finished yet: a result already stored stands. (A store
                # cut off mid-transaction rolled back; `fail` leaves a stored case alone.)
                for held in targets:
                    if held not in outcomes:
                        finish(held, "analysis exceeded its time limit")
        lead = outcomes.get(case_id, "skipped")
        if len(targets) > 1:
            log.info("case %s analyzed in a batch of %s", case_id, len(targets))
        return lead
    except DBAPIError:
        # Database outage: drop the markers so the reconciler re-sends once it is back.
        for held in leases:
            with contextlib.suppress(Exception):
                rt.dispatcher.clear_marker(held)
        raise
    finally:
        for held, lease in leases.items():
            with contextlib.suppress(Exception):
                rt.dispatcher.release_lease(held, lease)
