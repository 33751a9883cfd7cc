"""A pipeline that takes seconds to build, as loading model weights onto a GPU does."""

from __future__ import annotations

import time

from shared.pipelines.news2 import News2Pipeline

BUILD_SECONDS = 6.0


class SlowStartPipeline(News2Pipeline):
    """The real deterministic pipeline, built slowly in each worker process after the fork.

    While it builds, the worker's main process has already taken a message off the queue:
    the message is in Redis's unacked set and its case is still `queued`.
    """

    name = "slow-start-news2"

    def __init__(self) -> None:
        time.sleep(BUILD_SECONDS)
        super().__init__()
