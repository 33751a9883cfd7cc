"""Vital signs shared by the clinical tests."""

from __future__ import annotations

import csv
from pathlib import Path
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

# The ESI v4 handbook cases live beside the repo (../shared/data/, see its README), not in it.
ESI_CSV = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "esi_v4_handbook_train.csv"
)


def esi_vignettes() -> list[str]:
    """The `Clinical Vignettes` column of the ESI handbook cases ([] when the file is absent)."""
    if not ESI_CSV.is_file():
        return []
    with ESI_CSV.open(encoding="utf-8", newline="") as handle:
        return [row["Clinical Vignettes"] for row in csv.DictReader(handle)]
