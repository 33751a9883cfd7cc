"""Telling intake what the engine found, and pipelines that move the acuity.

The engine's own rules (levels 1 and 5, missing and conflicting vital signs) are tested
against CLINICAL.md in tests/unit; these helpers let the integration and browser tests check
that whatever the engine reports reaches the database, the board and the case page.
"""

from __future__ import annotations

from typing import Any

import pytest

import shared.cases
import shared.pipelines.news2
import shared.pipelines.text
from shared.clinical.engine import assess_case
from shared.pipelines.news2 import News2Pipeline
from shared.schemas import Acuity, Assessment, CaseIn, TriageResult, VitalConflict


def hr_conflict(note: str, note_value: int = 150, typed: int = 80) -> VitalConflict:
    """The note says HR `note_value` where the nurse typed `typed`; the note's counts."""
    start = note.index(f"HR {note_value}")
    return VitalConflict(
        field="heart_rate",
        structured=typed,
        note=note_value,
        used="note",
        start=start,
        end=start + len(f"HR {note_value}"),
    )


class EngineFindings:
    """The real engine at intake, with chosen fields of its assessment set per complaint."""

    def __init__(self) -> None:
        self.by_complaint: dict[str, dict[str, Any]] = {}

    def set(self, chief_complaint: str, **fields: Any) -> None:
        self.by_complaint[chief_complaint] = fields

    def assess(self, case: CaseIn) -> Assessment:
        assessment = assess_case(case)
        fields = self.by_complaint.get(case.chief_complaint)
        return assessment.model_copy(update=fields) if fields else assessment

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """At intake and in the in-process pipelines alike (not in a worker process)."""
        for module in (shared.cases, shared.pipelines.news2, shared.pipelines.text):
            monkeypatch.setattr(module, "assess_case", self.assess)


class AcuityPipeline(News2Pipeline):
    """The deterministic pipeline, but its result claims `acuity` (as a model might)."""

    acuity = Acuity.URGENT

    def analyze(self, case: CaseIn) -> TriageResult:
        result = super().analyze(case)
        return result.model_copy(
            update={"acuity": self.acuity, "risk_level": self.acuity.risk_level}
        )


class ResuscitationPipeline(AcuityPipeline):
    name = "says-level-1"
    acuity = Acuity.RESUSCITATION


class NonUrgentPipeline(AcuityPipeline):
    name = "says-level-5"
    acuity = Acuity.NON_URGENT
