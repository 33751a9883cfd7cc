"""What a worker process holds: database, Redis, and the pipeline, built once after fork."""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.db import make_engine, make_session_factory
from shared.pipelines import Pipeline, make_pipeline
from shared.pipelines.multimodal import get_image_text_model
from shared.queue import Dispatcher


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    dispatcher: Dispatcher
    pipeline: Pipeline
    identity: dict[str, Any] = field(default_factory=dict)


_runtime: Runtime | None = None


def build_runtime(settings: Settings) -> Runtime:
    """Connect and build the pipeline; a broken pipeline fails here, before any task."""
    started = time.perf_counter()
    pipeline = make_pipeline(settings.pipeline)
    # The image+text model too (when configured): loaded and warmed up before any task, one
    # copy of the weights when it is the text model's own profile.
    get_image_text_model(settings, reuse=getattr(pipeline, "chain", None))
    engine = make_engine(settings.sqlalchemy_url, pool_size=2, max_overflow=2)
    identity = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pipeline_build_id": uuid.uuid4().hex,
        "pipeline_build_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        dispatcher=Dispatcher.from_settings(settings),
        pipeline=pipeline,
        identity=identity,
    )


def init_runtime(settings: Settings) -> Runtime:
    global _runtime
    _runtime = build_runtime(settings)
    return _runtime


def get_runtime(settings: Settings) -> Runtime:
    """The process's runtime; built on first use where no process-init signal ran (solo pool)."""
    if _runtime is None or _runtime.identity.get("pid") != os.getpid():
        return init_runtime(settings)
    return _runtime
