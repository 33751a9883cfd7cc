"""The deterministic pipeline: NEWS2 and danger-zone rules on structured vital signs."""

from __future__ import annotations

import time

from shared import __version__
from shared.clinical.engine import assess_case
from shared.clinical.news2 import describe
from shared.pipelines.base import SAFETY_DISCLAIMER, library_versions
from shared.schemas import Assessment, CaseIn, ModelInfo, TriageResult


def age_phrase(age_years: float) -> str:
    return f"{age_years:g}-year-old" if age_years >= 1 else "infant"


def summarize(case: CaseIn, assessment: Assessment) -> str:
    """A templated, extractive summary: who, why they came, and what scored."""
    age = age_phrase(case.age_years)
    who = age if case.sex.value == "unknown" else f"{age} {case.sex.value}"
    parts = [who, f"chief complaint: {case.chief_complaint}"]
    news2 = assessment.news2
    if not news2.applicable:
        parts.append(f"NEWS2 not applicable ({news2.not_applicable_reason})")
    elif news2.total is not None:
        scored = ", ".join(describe(p) for p in news2.parameters if p.score)
        floor = " at least" if news2.is_floor else ""
        parts.append(
            f"NEWS2{floor} {news2.total} ({news2.band})" + (f": {scored}" if scored else "")
        )
        if news2.missing:
            parts.append("not documented: " + ", ".join(news2.missing))
    parts.append(f"risk {assessment.risk_level.value}")
    return "; ".join(parts) + "."


class News2Pipeline:
    """Needs no model weights; the safety net under every other pipeline."""

    name = "news2"
    version = __version__

    def models(self) -> list[ModelInfo]:
        return [ModelInfo(name="deterministic-news2", version=__version__)]

    def analyze(self, case: CaseIn) -> TriageResult:
        started = time.perf_counter()
        assessment = assess_case(case)
        elapsed = (time.perf_counter() - started) * 1000
        return TriageResult(
            acuity=assessment.acuity,
            risk_level=assessment.risk_level,
            assessment=assessment,
            summary=summarize(case, assessment),
            safety_disclaimer=SAFETY_DISCLAIMER,
            pipeline=self.name,
            pipeline_version=self.version,
            models=self.models(),
            library_versions=library_versions("medtriage", "pydantic"),
            timings_ms={"clinical_engine": round(elapsed, 3)},
            worker={},
        )
