"""The Celery application and its process signals."""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

from celery import signals

from shared.config import get_settings
from shared.pipelines import pipeline_factory
from shared.queue import make_celery
from worker import runtime

log = logging.getLogger(__name__)

settings = get_settings()
# Fail fast, before any fork, when the configured pipeline does not exist.
pipeline_factory(settings.pipeline)
celery_app = make_celery(settings, "medtriage-worker")
celery_app.conf.update(
    include=["worker.tasks"],
    # A model loads (and warms up) in worker_process_init; Celery kills a child that takes
    # longer than this to come up (4 s by default).
    worker_proc_alive_timeout=settings.model_load_timeout_s,
)


@signals.worker_process_init.connect
def _build_once_per_process(**_: Any) -> None:
    # After the fork: CUDA, database pools and sockets must never cross a fork.
    from worker import reconciler

    reconciler.forget_inherited()
    try:
        built = runtime.init_runtime(settings)
    except Exception as exc:  # noqa: BLE001 - any failure to build stops the worker
        # Celery would log a failed signal handler and go on without a pipeline. A model
        # that cannot load (and no 'deterministic' fallback allowed) stops the whole worker.
        log.critical("pipeline %s cannot start: %s", settings.pipeline, exc)
        os.kill(os.getppid(), signal.SIGTERM)
        os._exit(1)
    log.info("pipeline %s built in process %s", built.pipeline.name, built.identity["pid"])


@signals.worker_ready.connect
def _start_reconciler(**_: Any) -> None:
    from worker import reconciler

    reconciler.start_thread(settings)


@signals.worker_shutdown.connect
def _stop_reconciler(**_: Any) -> None:
    from worker import reconciler

    reconciler.stop_thread()
