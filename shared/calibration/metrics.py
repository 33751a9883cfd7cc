"""The report's figures for one model on held-out cases: AUROC and AUPRC with bootstrap
confidence intervals, calibration slope and intercept, Brier score, a calibration curve and a
decision curve; and the under-triage rate before and after the nudge."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

BOOTSTRAP = 200
DECISION_THRESHOLDS = tuple(round(0.01 * k, 2) for k in range(1, 51))
EPSILON = 1e-6


def logit(p: Any) -> Any:
    import numpy as np

    p = np.clip(np.asarray(p, dtype=float), EPSILON, 1 - EPSILON)
    return np.log(p / (1 - p))


def calibration_line(y: Any, p: Any) -> tuple[float, float]:
    """Slope and intercept of the outcome regressed on the logit of the prediction (1 and 0
    when the predictions are calibrated)."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=1e6, max_iter=1000).fit(logit(p).reshape(-1, 1), y)
    return float(fit.coef_[0][0]), float(fit.intercept_[0])


def calibration_curve(y: Any, p: Any, bins: int = 10) -> list[dict[str, float]]:
    """Predicted against observed, in bins of equal size (deciles of risk)."""
    import numpy as np

    order = np.argsort(p)
    out = []
    for chunk in np.array_split(order, bins):
        if len(chunk):
            out.append(
                {
                    "predicted": float(np.mean(p[chunk])),
                    "observed": float(np.mean(y[chunk])),
                    "n": len(chunk),
                }
            )
    return out


def decision_curve(y: Any, p: Any) -> list[dict[str, float]]:
    """Net benefit of acting above each threshold, against acting on everyone."""
    n, prevalence = len(y), float(y.mean())
    out = []
    for t in DECISION_THRESHOLDS:
        act = p >= t
        tp, fp = float((act & (y == 1)).sum()), float((act & (y == 0)).sum())
        odds = t / (1 - t)
        out.append(
            {
                "threshold": t,
                "model": tp / n - fp / n * odds,
                "treat_all": prevalence - (1 - prevalence) * odds,
            }
        )
    return out


def _interval(values: Sequence[float]) -> list[float]:
    import numpy as np

    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return [math.nan, math.nan]
    return [float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))]


def auroc(y: Any, p: Any) -> float:
    """Area under the ROC curve from ranks (ties share their average rank)."""
    from scipy.stats import rankdata

    positives = int(y.sum())
    negatives = len(y) - positives
    ranks = rankdata(p)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def auprc(y: Any, p: Any) -> float:
    """Average precision (the area under the precision-recall curve, step-wise, as
    scikit-learn computes it), one step per distinct score."""
    import numpy as np

    order = np.argsort(-p, kind="mergesort")
    scores, hits = p[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp = np.cumsum(hits)[last]
    precision = tp / (last + 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def discrimination(y: Any, p: Any, seed: int = 0) -> dict[str, Any]:
    """AUROC and AUPRC with 95% bootstrap intervals (cases resampled with replacement)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    aurocs, auprcs = [], []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(y), len(y))
        if y[pick].min() == y[pick].max():
            continue
        aurocs.append(auroc(y[pick], p[pick]))
        auprcs.append(auprc(y[pick], p[pick]))
    return {
        "auroc": auroc(y, p),
        "auroc_ci": _interval(aurocs),
        "auprc": auprc(y, p),
        "auprc_ci": _interval(auprcs),
    }


def evaluate(y: Any, p: Any) -> dict[str, Any]:
    """Every figure of one model on held-out outcomes `y` (0/1) and predictions `p`."""
    import numpy as np

    y, p = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    slope, intercept = calibration_line(y, p)
    return {
        **discrimination(y, p),
        "calibration_slope": slope,
        "calibration_intercept": intercept,
        "brier": float(np.mean((p - y) ** 2)),
        "calibration_curve": calibration_curve(y, p),
        "decision_curve": decision_curve(y, p),
    }


def under_triage(y: Any, levels: Any) -> dict[str, float]:
    """Critical outcomes placed at levels 4-5: as a share of all critical outcomes (the
    under-triage rate) and as a share of everyone placed at 4-5."""
    import numpy as np

    y, levels = np.asarray(y, dtype=int), np.asarray(levels, dtype=int)
    low = levels >= 4
    missed, events, placed = int((low & (y == 1)).sum()), int(y.sum()), int(low.sum())
    return {
        "rate": missed / events if events else 0.0,
        "among_levels_4_5": missed / placed if placed else 0.0,
        "critical_at_4_5": missed,
    }
