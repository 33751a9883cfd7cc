"""The worker's calibration step, after the clinical engine and the pipeline: score the
analysis with the active site model (if any) and, above the site's threshold, make the level
one more urgent with a reason naming the model and version. Never less urgent, and never a
failed case: a model that cannot score leaves the level as it was and says why."""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from shared.calibration.features import MissingFeature, extract
from shared.calibration.nudge import MODEL_NAME, nudge
from shared.calibration.store import active_scorer
from shared.config import Settings
from shared.db.models import Case
from shared.schemas import Acuity, Reason, TriageResult

log = logging.getLogger(__name__)
RULE = "site_calibration"


@dataclass(frozen=True)
class Calibrated:
    acuity: Acuity
    version: int | None = None  # the model that scored the case (Result.calibration_version)
    view: dict[str, Any] | None = None  # what the case page and the API show
    reason: Reason | None = None

    def payload(self, result: TriageResult) -> dict[str, Any]:
        """The result as stored: the calibration beside the assessment, and its reason first
        among the reasons when it moved the level."""
        out = result.model_dump(mode="json")
        if self.view is not None:
            out["calibration"] = self.view
        if self.reason is not None:
            reasons = out["assessment"]["reasons"]
            reasons.insert(0, self.reason.model_dump(mode="json"))
        return out


def calibrate(
    session: Session, case: Case, result: TriageResult, level: Acuity, settings: Settings
) -> Calibrated:
    """`level` as the engine and pipeline left it, nudged by the active model if any."""
    try:
        scorer = active_scorer(session)
    except Exception as exc:  # noqa: BLE001 - a broken model never fails a case
        log.error("case %s: calibration model not loaded (%s)", case.id, type(exc).__name__)
        return Calibrated(level)
    if scorer is None:
        return Calibrated(level)
    hour = case.created_at.astimezone(zoneinfo.ZoneInfo(settings.timezone)).hour
    row = extract(result.assessment, age_years=case.age_years, sex=case.sex, arrival_hour=hour)
    view: dict[str, Any] = {"model": MODEL_NAME, "version": scorer.version, "name": scorer.name}
    try:
        score = scorer.score(row)
    except MissingFeature as exc:
        log.warning("case %s: %s did not score it (missing features)", case.id, scorer.name)
        return Calibrated(level, scorer.version, {**view, "error": str(exc)})
    threshold = settings.calibration_threshold
    after = nudge(level, score.probability, threshold)
    view.update(
        probability=round(score.probability, 4),
        threshold=threshold,
        top_features=score.top_features,
        level_before=int(level),
        level_after=int(after),
        nudged=after != level,
    )
    reason = None
    if after != level:
        reason = Reason(
            rule=RULE,
            detail=(
                f"{scorer.name}: probability of a critical outcome {score.probability:.2f}, "
                f"above the site threshold {threshold:.2f}: one level more urgent than "
                f"{level.label}"
            ),
            acuity=after,
            value=round(score.probability, 4),
        )
    return Calibrated(after, scorer.version, view, reason)
