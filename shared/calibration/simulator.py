"""Simulated cases whose critical outcome follows a known model, for tests, the benchmark
and `medtriage calibrate simulate`: vital signs, age, sex and a chief complaint drawn at
random, run through the real clinical engine, and an outcome drawn from known coefficients
on the engine's features (a logistic model, so the noise is the Bernoulli draw itself)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.calibration.features import extract
from shared.schemas import Assessment, CaseIn

# The truth the training must recover: signs and order (log-odds per unit of each feature).
TRUE_COEFFICIENTS: dict[str, float] = {
    "shock_index": 1.6,
    "qsofa_score": 0.8,
    "age_band": 0.45,
    "news2_total": 0.2,
    "complaint:skin": -0.9,
}
TRUE_INTERCEPT = -6.0  # an event rate near 8% with the mix below

# Chief complaints and how often they come (read by the engine like any typed complaint).
COMPLAINTS: tuple[tuple[str, float], ...] = (
    ("chest pain", 0.10), ("shortness of breath", 0.10), ("abdominal pain", 0.12),
    ("headache", 0.08), ("fall", 0.10), ("laceration to finger", 0.07), ("sore throat", 0.06),
    ("rash", 0.06), ("fever", 0.08), ("back pain", 0.07), ("vomiting", 0.06), ("cough", 0.06),
    ("dizziness", 0.04),
)  # fmt: skip


@dataclass(frozen=True)
class SimulatedCase:
    case: CaseIn
    arrived: dt.datetime
    assessment: Assessment
    features: dict[str, float]
    probability: float  # the true probability of a critical outcome
    outcome: bool


def true_probability(features: dict[str, float]) -> float:
    logit = TRUE_INTERCEPT + sum(c * features[name] for name, c in TRUE_COEFFICIENTS.items())
    return 1.0 / (1.0 + math.exp(-logit))


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _vitals(rng: Any, severity: float) -> dict[str, Any]:
    normal = rng.normal
    systolic = round(_clip(130 - 55 * severity + normal(0, 15), 60, 220))
    vitals: dict[str, Any] = {
        "heart_rate": round(_clip(76 + 65 * severity + normal(0, 10), 35, 200)),
        "systolic_bp": systolic,
        "respiratory_rate": round(_clip(15 + 14 * severity + normal(0, 2.5), 6, 50)),
        "spo2": round(_clip(98 - 11 * severity + normal(0, 1.5), 70, 100)),
        "temperature_c": round(
            _clip(36.9 + normal(0, 0.4) + (1.8 * severity if rng.random() < 0.5 else 0), 34, 42),
            1,
        ),
        "on_oxygen": False,
        "consciousness": "A" if severity < 0.55 or rng.random() < 0.6 else "C",
        "pain": int(rng.integers(0, 11)) if rng.random() < 0.8 else None,
    }
    if rng.random() < 0.05:  # no blood pressure taken: shock index unknown
        del vitals["systolic_bp"]
    return vitals


def simulate(
    n: int, *, seed: int = 0, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> Iterator[SimulatedCase]:
    """`n` cases arriving uniformly between `since` and `until` (a year to now by default),
    in time order; the same seed gives the same cases."""
    import numpy as np

    rng = np.random.default_rng(seed)
    until = until or dt.datetime.now(dt.UTC)
    since = since or until - dt.timedelta(days=365)
    span = (until - since).total_seconds()
    offsets = np.sort(rng.uniform(0, span, n))
    phrases = [c for c, _ in COMPLAINTS]
    weights = np.array([w for _, w in COMPLAINTS])
    weights = weights / weights.sum()
    for offset in offsets:
        arrived = since + dt.timedelta(seconds=float(offset))
        severity = float(rng.beta(1.3, 6.0))
        child = rng.random() < 0.1
        age = float(rng.uniform(0.5, 15.9) if child else rng.uniform(16, 95))
        case = CaseIn(
            age_years=round(age, 1),
            sex="male" if rng.random() < 0.5 else "female",  # type: ignore[arg-type]
            chief_complaint=str(rng.choice(phrases, p=weights)),
            vitals=_vitals(rng, severity),  # type: ignore[arg-type]
        )
        from shared.clinical.engine import assess_case

        assessment = assess_case(case)
        features = extract(
            assessment, age_years=case.age_years, sex=case.sex.value, arrival_hour=arrived.hour
        )
        probability = true_probability(features)
        yield SimulatedCase(
            case, arrived, assessment, features, probability, bool(rng.random() < probability)
        )
