"""A pipeline with the batch interface (`analyze_many`), slowed so a test can kill the worker
while a batch of cases is claimed and running."""

from __future__ import annotations

import time

from shared.pipelines.news2 import News2Pipeline
from shared.schemas import CaseIn, TriageResult
from tests.support.pipelines import SLOW_SECONDS


class SlowBatchPipeline(News2Pipeline):
    """The real deterministic pipeline, several cases per call, slowly."""

    name = "slow-batch-news2"

    def analyze_many(self, cases: list[CaseIn]) -> list[TriageResult]:
        time.sleep(SLOW_SECONDS)
        return [super(SlowBatchPipeline, self).analyze(case) for case in cases]
