"""How much the engine's level can be trusted, and one sentence saying why (CLINICAL.md:
lower when data are missing or conflicting, or when the level rests on one weak match)."""

from __future__ import annotations

from shared.clinical.facts import Facts
from shared.schemas import Acuity, Reason, VitalConflict

MAX_CONFIDENCE = 0.95
FLOOR = 0.3
CORE = ("heart_rate", "respiratory_rate", "spo2", "systolic_bp")


def confidence(
    facts: Facts, reasons: list[Reason], level: Acuity, conflicts: list[VitalConflict]
) -> tuple[float, str]:
    values = facts.vitals.model_dump()
    missing = [name for name in CORE if values[name] is None]
    value = MAX_CONFIDENCE
    why: list[str] = []
    if len(missing) == len(CORE):
        value -= 0.35
        why.append("no vital signs are documented")
    elif missing:
        value -= 0.07 * len(missing)
        why.append(f"{len(missing)} of 4 core vital signs are missing")
    if conflicts:
        value -= 0.15
        why.append("a note value contradicts a typed field")
    deciding = [r for r in reasons if r.acuity == level]
    if deciding and all(r.source is not None for r in deciding) and len(deciding) == 1:
        value -= 0.15
        why.append("the level rests on a single phrase in the text")
    value = round(max(FLOOR, min(MAX_CONFIDENCE, value)), 2)
    if not why:
        return value, "Complete vital signs and consistent findings support this level."
    return value, "Lower confidence: " + "; ".join(why) + "."
