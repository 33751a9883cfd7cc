"""Vital signs shared by the clinical tests."""

from __future__ import annotations

from typing import Any

from shared.schemas import Consciousness

# Every NEWS2 parameter present and scoring 0, so a test changes one thing and sees its effect.
NORMAL: dict[str, Any] = {
    "respiratory_rate": 16,
    "spo2": 98,
    "on_oxygen": False,
    "systolic_bp": 120,
    "heart_rate": 70,
    "consciousness": Consciousness.ALERT,
    "temperature_c": 37.0,
}
