"""Pipelines used by tests through the real registry path ('module:Class')."""

from __future__ import annotations

import time

from shared.pipelines.news2 import News2Pipeline
from shared.schemas import CaseIn, TriageResult

SLOW_SECONDS = 4.0


class SlowPipeline(News2Pipeline):
    """The real deterministic pipeline, slowed so a test can kill the worker mid-task."""

    name = "slow-news2"

    def analyze(self, case: CaseIn) -> TriageResult:
        time.sleep(SLOW_SECONDS)
        return super().analyze(case)


class BrokenPipeline(News2Pipeline):
    """Fails on every case, as a buggy model integration would."""

    name = "broken"

    def analyze(self, case: CaseIn) -> TriageResult:
        # Like many real errors, the message quotes the input: it must never reach a log.
        raise RuntimeError(f"model crashed on note: {case.note}")
