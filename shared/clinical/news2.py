"""NEWS2 (Royal College of Physicians, 2017) scored from structured vital signs."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

from shared.schemas import Consciousness, NEWS2Result, ParameterScore, VitalSigns

Band = Literal["low", "low-medium", "medium", "high"]

# Each table is (inclusive upper bound, score) in ascending order; the first bound the value
# does not exceed gives the score. Integer vitals make "<= 11" the same as "9-11".
Table = tuple[tuple[float, int], ...]

RESPIRATORY_RATE: Table = ((8, 3), (11, 1), (20, 0), (24, 2), (math.inf, 3))
SPO2_SCALE1: Table = ((91, 3), (93, 2), (95, 1), (math.inf, 0))
# Scale 2 only penalises high saturations when oxygen is being given: >= 93 on air scores 0,
# and so does >= 93 with oxygen undocumented (the oxygen parameter is reported missing instead).
SPO2_SCALE2_AIR: Table = ((83, 3), (85, 2), (87, 1), (math.inf, 0))
SPO2_SCALE2_OXYGEN: Table = ((83, 3), (85, 2), (87, 1), (92, 0), (94, 1), (96, 2), (math.inf, 3))
SYSTOLIC_BP: Table = ((90, 3), (100, 2), (110, 1), (219, 0), (math.inf, 3))
HEART_RATE: Table = ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (math.inf, 3))
# Temperature is rounded to 0.1 C before lookup, so 35.0/35.1 etc. are the real boundaries.
TEMPERATURE: Table = ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1), (math.inf, 2))

OXYGEN_SCORE = 2
NOT_ALERT_SCORE = 3  # new confusion, V, P and U all score 3
ALERT = Consciousness.ALERT.value
ADULT_AGE_YEARS = 16

# Display labels for reason texts, e.g. "RR 26 (+3)".
LABELS: dict[str, Callable[[float | int | str | bool], str]] = {
    "respiratory_rate": lambda v: f"RR {v}",
    "spo2": lambda v: f"SpO2 {v}%",
    "air_or_oxygen": lambda v: str(v),
    "systolic_bp": lambda v: f"SBP {v}",
    "heart_rate": lambda v: f"HR {v}",
    "consciousness": lambda v: str(v) if str(v).startswith("GCS") else f"ACVPU {v}",
    "temperature": lambda v: f"Temp {v} C",
}


def lookup(value: float, table: Table) -> int:
    """Score of value in an ascending (upper bound, score) table."""
    return next(score for upper, score in table if value <= upper)


def describe(param: ParameterScore) -> str:
    """Human label for one scored parameter, e.g. "SpO2 90% (+3)"."""
    return f"{LABELS[param.parameter](param.value)} (+{param.score})"


def band_for(total: int, parameters: list[ParameterScore]) -> Band:
    """NEWS2 clinical risk band for a total and its parameter scores."""
    if total >= 7:
        return "high"
    if total >= 5:
        return "medium"
    if any(p.score == 3 for p in parameters):
        return "low-medium"
    return "low"


def _not_applicable_reason(age_years: float, pregnant: bool) -> str | None:
    """Why NEWS2 does not apply to this patient, or None when it does."""
    if age_years < ADULT_AGE_YEARS:
        return "NEWS2 applies only to adults aged 16 or over; danger-zone vitals apply instead"
    if pregnant:
        return "NEWS2 does not apply in pregnancy; danger-zone vitals apply instead"
    return None


def _consciousness(vitals: VitalSigns) -> str | None:
    """The ACVPU letter, or "GCS n" when a GCS below 15 is the more urgent (CLINICAL.md: GCS
    below 15 counts as not alert; when both are given, the more urgent counts)."""
    acvpu = None if vitals.consciousness is None else vitals.consciousness.value
    if vitals.gcs is not None and vitals.gcs < 15 and acvpu in (None, ALERT):
        return f"GCS {vitals.gcs}"
    return acvpu


def _spo2_table(vitals: VitalSigns) -> Table:
    """Which SpO2 table applies: scale 2 only with the explicit intake flag."""
    if not vitals.spo2_scale2:
        return SPO2_SCALE1
    return SPO2_SCALE2_OXYGEN if vitals.on_oxygen else SPO2_SCALE2_AIR


def score_news2(vitals: VitalSigns, *, age_years: float, pregnant: bool) -> NEWS2Result:
    """Score NEWS2; missing parameters are listed and make the total a floor."""
    reason = _not_applicable_reason(age_years, pregnant)
    if reason is not None:
        return NEWS2Result(applicable=False, not_applicable_reason=reason)

    temperature = None if vitals.temperature_c is None else round(vitals.temperature_c, 1)
    oxygen = None if vitals.on_oxygen is None else ("oxygen" if vitals.on_oxygen else "air")
    consciousness = _consciousness(vitals)
    spo2_table = _spo2_table(vitals)
    # (name, value or None when missing, scorer of a present value); order follows the RCP chart.
    rows: list[tuple[str, float | int | str | None, Callable[[Any], int]]] = [
        ("respiratory_rate", vitals.respiratory_rate, lambda v: lookup(v, RESPIRATORY_RATE)),
        ("spo2", vitals.spo2, lambda v: lookup(v, spo2_table)),
        ("air_or_oxygen", oxygen, lambda v: OXYGEN_SCORE if v == "oxygen" else 0),
        ("systolic_bp", vitals.systolic_bp, lambda v: lookup(v, SYSTOLIC_BP)),
        ("heart_rate", vitals.heart_rate, lambda v: lookup(v, HEART_RATE)),
        ("consciousness", consciousness, lambda v: 0 if v == ALERT else NOT_ALERT_SCORE),
        ("temperature", temperature, lambda v: lookup(v, TEMPERATURE)),
    ]

    parameters = [
        ParameterScore(parameter=name, value=value, score=scorer(value))
        for name, value, scorer in rows
        if value is not None
    ]
    missing = [name for name, value, _ in rows if value is None]
    total = sum(p.score for p in parameters)
    return NEWS2Result(
        applicable=True,
        total=total,
        band=band_for(total, parameters),
        parameters=parameters,
        missing=missing,
        is_floor=bool(missing),
    )
