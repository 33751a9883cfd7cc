"""qSOFA and shock index (CLINICAL.md): reported with the assessment, never banded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.schemas import QSOFA, Consciousness, ShockIndex, VitalSigns


def qsofa(vitals: VitalSigns) -> QSOFA:
    """RR >= 22, SBP <= 100, altered mentation (anything but Alert); 2 or more is positive."""
    met: list[str] = []
    missing: list[str] = []
    checks: list[tuple[str, Any, Callable[[Any], bool]]] = [
        ("respiratory_rate >= 22", vitals.respiratory_rate, lambda v: v >= 22),
        ("systolic_bp <= 100", vitals.systolic_bp, lambda v: v <= 100),
        ("altered mentation", vitals.consciousness, lambda v: v != Consciousness.ALERT),
    ]
    for name, value, test in checks:
        if value is None:
            missing.append(name)
        elif test(value):
            met.append(name)
    return QSOFA(score=len(met), criteria=met, missing=missing, positive=len(met) >= 2)


def shock_index(vitals: VitalSigns) -> ShockIndex | None:
    """HR / SBP, when both are known."""
    if vitals.heart_rate is None or not vitals.systolic_bp:
        return None
    value = round(vitals.heart_rate / vitals.systolic_bp, 2)
    return ShockIndex(value=value, abnormal=value > 0.9, poor_outcome_range=value >= 1.0)
