"""Task messages in Celery's message protocol v2, as kombu's Redis transport stores them.

The web publishes with one Redis round trip (LPUSH of the message and SET of the dispatch
marker in one MULTI) instead of going through a Celery producer, which costs several
milliseconds of CPU per case. The worker is a plain Celery worker and reads these messages
like any other; tests/integration/test_queue.py compares this envelope with the one Celery
itself writes, so a Celery or kombu upgrade that changes the format fails the build.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid
from typing import Any

# kombu.transport.redis: one list per priority step, "<queue>" for step 0,
# "<queue>\x06\x16<step>" for the others.
PRIORITY_SEPARATOR = "\x06\x16"

_ORIGIN = f"medtriage-web.{os.getpid()}@{socket.gethostname()}"
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def list_key(queue: str, priority: int, steps: list[int]) -> str:
    """The Redis list holding messages of this priority (nearest step at or above it)."""
    step = next((s for s in steps if s >= priority), steps[-1])
    return queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}"


def task_message(task: str, args: list[Any], queue: str, priority: int) -> str:
    """One task message, JSON-serialized, ready for LPUSH."""
    task_id = str(uuid.uuid4())
    body = json.dumps([args, {}, _EMBED]).encode()
    envelope = {
        "body": base64.b64encode(body).decode("ascii"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py",
            "task": task,
            "id": task_id,
            "shadow": None,
            "eta": None,
            "expires": None,
            "group": None,
            "group_index": None,
            "retries": 0,
            "timelimit": [None, None],
            "root_id": task_id,
            "parent_id": None,
            "argsrepr": repr(args),
            "kwargsrepr": "{}",
            "origin": _ORIGIN,
            "ignore_result": True,
            "replaced_task_nesting": 0,
            "stamped_headers": None,
            "stamps": {},
        },
        "properties": {
            "correlation_id": task_id,
            "reply_to": None,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": priority,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    return json.dumps(envelope)
