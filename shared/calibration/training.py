"""Training a site model, in the order the issue asks: first recalibrate the rules (an
intercept and a slope on a rules-only score), then logistic regression on every feature;
gradient boosting is fitted beside it for the report only. Validation is a time split:
train on the older 80% of the window, test on the most recent 20%."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.calibration.metrics import evaluate, logit, under_triage
from shared.calibration.nudge import nudge

TEST_SHARE = 0.2
THRESHOLDS_SHOWN = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
# The rules-only score: the published levels' expected share of critical outcomes, as a
# prior a site recalibrates with its own intercept and slope.
RULES_PRIOR = {1: 0.5, 2: 0.2, 3: 0.05, 4: 0.01, 5: 0.002}


class TrainingError(ValueError):
    """The data cannot train or validate a model (with the reason, in plain words)."""


@dataclass
class Dataset:
    """One row per case: its features, critical outcome, arrival time and the rules' level."""

    names: tuple[str, ...]
    rows: list[dict[str, float]] = field(default_factory=list)
    outcomes: list[bool] = field(default_factory=list)
    times: list[dt.datetime] = field(default_factory=list)
    levels: list[int] = field(default_factory=list)

    def add(self, row: dict[str, float], outcome: bool, at: dt.datetime, level: int) -> None:
        self.rows.append(row)
        self.outcomes.append(outcome)
        self.times.append(at)
        self.levels.append(level)

    @property
    def events(self) -> int:
        return sum(self.outcomes)

    def data_hash(self) -> str:
        """SHA-256 of what was trained on: features, outcomes and times, in time order."""
        digest = hashlib.sha256(json.dumps(list(self.names)).encode())
        for row, y, at in sorted(
            zip(self.rows, self.outcomes, self.times, strict=True), key=lambda t: t[2]
        ):
            values = [round(row.get(n, float("nan")), 6) for n in self.names]
            digest.update(json.dumps([at.isoformat(), int(y), values]).encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class Trained:
    features: list[str]
    model: dict[str, Any]  # JSON: the logistic model and the rules' recalibration
    metrics: dict[str, Any]  # JSON: the report's figures on the test months
    since: dt.datetime
    until: dt.datetime
    n_cases: int
    n_events: int
    data_hash: str
    sklearn_version: str


def rules_score(levels: Any) -> Any:
    return logit([RULES_PRIOR[int(level)] for level in levels])


def _logistic(x: Any, y: Any, names: Sequence[str]) -> dict[str, Any]:
    """L2-penalized on the raw columns, so a rarely firing rule is shrunk rather than given a
    large weight by the few cases it fired in."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    # Newton-Cholesky: a few exact steps, fast when cases far outnumber the features.
    fit = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=200).fit(x, y)
    coefficients = fit.coef_[0]
    intercept = float(fit.intercept_[0])
    return {
        "kind": "logistic",
        "intercept": intercept,
        "coefficients": {n: float(c) for n, c in zip(names, coefficients, strict=True)},
        "means": {n: float(m) for n, m in zip(names, mean, strict=True)},
    }


def _predict(model: dict[str, Any], x: Any, names: Sequence[str]) -> Any:
    import numpy as np

    coefficients = np.array([model["coefficients"][n] for n in names])
    return 1.0 / (1.0 + np.exp(-(model["intercept"] + x @ coefficients)))


def _split(times: Sequence[dt.datetime]) -> int:
    """Index of the first test case (rows in time order): the most recent 20%."""
    return max(1, min(len(times) - 1, round(len(times) * (1 - TEST_SHARE))))


def train(data: Dataset, *, threshold: float, seed: int = 0) -> Trained:
    """Fit, validate on the most recent cases, and describe; raises TrainingError."""
    from threadpoolctl import threadpool_limits

    # One thread: OpenMP's spinning workers slow gradient boosting down several times on a
    # machine whose cores are busy with the web and the worker.
    with threadpool_limits(limits=1):
        return _train(data, threshold=threshold, seed=seed)


def _train(data: Dataset, *, threshold: float, seed: int) -> Trained:
    import numpy as np
    import sklearn
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    if len(data.rows) < 20:
        raise TrainingError(f"{len(data.rows)} cases with an outcome: too few to train on")
    order = sorted(range(len(data.rows)), key=lambda i: data.times[i])
    names = list(data.names)
    x = np.array([[data.rows[i][n] for n in names] for i in order], dtype=float)
    y = np.array([int(data.outcomes[i]) for i in order])
    levels = np.array([data.levels[i] for i in order])
    times = [data.times[i] for i in order]
    cut = _split(times)
    train_y, test_y = y[:cut], y[cut:]
    for part, values in (("training", train_y), ("test", test_y)):
        if values.min() == values.max():
            raise TrainingError(
                f"the {part} months hold {'no' if values.max() == 0 else 'only'} critical "
                "outcomes: widen the window"
            )

    prior = rules_score(levels).reshape(-1, 1)
    recalibration = LogisticRegression(C=1e6, max_iter=1000).fit(prior[:cut], train_y)
    rules_p = recalibration.predict_proba(prior[cut:])[:, 1]
    model = _logistic(x[:cut], train_y, names)
    model["recalibration"] = {
        "intercept": float(recalibration.intercept_[0]),
        "slope": float(recalibration.coef_[0][0]),
        "rules_prior": {str(k): v for k, v in RULES_PRIOR.items()},
    }
    logistic_p = _predict(model, x[cut:], names)
    boosted = HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.1, max_leaf_nodes=15, random_state=seed
    ).fit(x[:cut], train_y)
    boosted_p = boosted.predict_proba(x[cut:])[:, 1]

    def nudged(t: float) -> list[int]:
        return [int(nudge(lv, p, t)) for lv, p in zip(levels[cut:], logistic_p, strict=True)]

    after = nudged(threshold)
    metrics = {
        "split": {
            "train_cases": int(cut),
            "train_events": int(train_y.sum()),
            "test_cases": len(test_y),
            "test_events": int(test_y.sum()),
            "test_since": times[cut].isoformat(),
            "test_until": times[-1].isoformat(),
        },
        "threshold": threshold,
        "models": {
            "rules_recalibrated": evaluate(test_y, rules_p),
            "logistic": evaluate(test_y, logistic_p),
            "gradient_boosting": evaluate(test_y, boosted_p),
        },
        "under_triage": {
            "before": under_triage(test_y, levels[cut:]),
            "after": under_triage(test_y, after),
            "nudged": int(sum(a != b for a, b in zip(after, levels[cut:], strict=True))),
            # What another site threshold would have done on the same test months.
            "by_threshold": [
                {
                    "threshold": t,
                    **under_triage(test_y, nudged(t)),
                    "nudged": int(
                        sum(a != b for a, b in zip(nudged(t), levels[cut:], strict=True))
                    ),
                }
                for t in THRESHOLDS_SHOWN
            ],
        },
    }
    return Trained(
        features=names,
        model=model,
        metrics=metrics,
        since=times[0],
        until=times[-1],
        n_cases=len(y),
        n_events=int(y.sum()),
        data_hash=data.data_hash(),
        sklearn_version=sklearn.__version__,
    )
