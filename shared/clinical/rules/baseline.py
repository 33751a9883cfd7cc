"""Levels 4 and 5, and missing data (CLINICAL.md v2): a case with no vital signs is never a
plain low; level 5 only for a minor complaint with normal, documented vital signs."""

from __future__ import annotations

from collections.abc import Iterator

from shared.clinical.facts import Facts
from shared.clinical.news2 import HEART_RATE, RESPIRATORY_RATE, SPO2_SCALE1, lookup
from shared.clinical.rules import rule
from shared.schemas import Acuity, Consciousness, Reason

CORE_VITALS = ("heart_rate", "respiratory_rate", "spo2", "systolic_bp")
LABELS = {"heart_rate": "HR", "respiratory_rate": "RR", "spo2": "SpO2", "systolic_bp": "BP"}


def missing_core_vitals(f: Facts) -> list[str]:
    """HR, RR, SpO2 and BP not documented in the fields or the note."""
    values = f.vitals.model_dump()
    return [name for name in CORE_VITALS if values[name] is None]


@rule("vitals_not_documented", "no HR, RR, SpO2 or BP documented -> at least 4, flagged")
def vitals_not_documented(f: Facts) -> Iterator[Reason]:
    if len(missing_core_vitals(f)) == len(CORE_VITALS):
        yield f.reason(
            "vitals_not_documented",
            Acuity.LESS_URGENT,
            "vital signs not documented: measure HR, RR, SpO2 and BP",
        )


def non_urgent(f: Facts) -> str | None:
    """Why level 5 applies (a minor complaint with normal documented vitals), else None."""
    v = f.vitals
    if not f.minor_complaint or missing_core_vitals(f):
        return None
    assert v.heart_rate is not None and v.respiratory_rate is not None and v.spo2 is not None
    normal = (
        lookup(v.heart_rate, HEART_RATE) == 0
        and lookup(v.respiratory_rate, RESPIRATORY_RATE) == 0
        and (lookup(v.spo2, SPO2_SCALE1) == 0 or (v.spo2_scale2 and v.spo2 >= 88))
        and v.systolic_bp is not None
        and 100 <= v.systolic_bp <= 159
        and (v.diastolic_bp is None or v.diastolic_bp < 100)
        and v.consciousness in (None, Consciousness.ALERT)
    )
    pain = f.pain
    pain_ok = pain is None or (pain.score or 0) <= 3 or pain.location == "peripheral"
    if normal and pain_ok:
        return "minor complaint with HR, RR, SpO2 and BP documented and normal"
    return None
