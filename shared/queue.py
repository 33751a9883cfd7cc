"""Talking to the queue: task names, priorities, Celery settings, dispatch markers and leases.

The web sends tasks by name with this module (see shared.messages) and never imports the
worker. Messages carry the case id only. Redis also holds two small keys per case so the
reconciler can tell a live task from a lost one: a dispatch marker (set atomically with the
message, cleared when the case is done) and a lease (held by the worker while it runs the
case, refreshed by a heartbeat). The marker says a message was sent, not that it is still
deliverable: a worker killed after taking a message off its list leaves it in kombu's
`unacked` set until the visibility timeout, so the reconciler looks at the lists themselves
(`waiting`).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import uuid
from typing import Any

import redis
from celery import Celery
from kombu.exceptions import OperationalError as KombuOperationalError

from shared.config import Settings
from shared.messages import list_key, task_message
from shared.schemas import Acuity

log = logging.getLogger(__name__)

TASK_ANALYZE = "triage.analyze_case"

# Redis transport: 0 is the highest priority; one Redis list per step. Acuity 1 and 2 share
# the first list (both "now or within minutes"), 3 is next, then 4, then 5. The steps are
# those of the three-level seed, so messages already queued stay on lists the worker reads.
PRIORITY_STEPS = [0, 3, 6, 9]
PRIORITY = {
    Acuity.RESUSCITATION: 0,
    Acuity.EMERGENT: 0,
    Acuity.URGENT: 3,
    Acuity.LESS_URGENT: 6,
    Acuity.NON_URGENT: 9,
}

MARKER_KEY = "medtriage:dispatched:{case_id}"
LEASE_KEY = "medtriage:lease:{case_id}"
MARKER_TTL_S = 7 * 24 * 3600

_REFRESH_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

QUEUE_ERRORS: tuple[type[BaseException], ...] = (
    KombuOperationalError,
    redis.exceptions.RedisError,
    OSError,
)


def message_case_id(raw: bytes | str) -> int | None:
    """The case id an analysis message carries; None for any other message."""
    try:
        envelope = json.loads(raw)
        if envelope["headers"]["task"] != TASK_ANALYZE:
            return None
        body = envelope["body"]
        if envelope["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return int(args[0])
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error):
        return None


def celery_config(settings: Settings) -> dict[str, Any]:
    """Settings shared by the producer (web) and the consumer (worker)."""
    return {
        "broker_url": settings.redis_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout_s,
            "priority_steps": PRIORITY_STEPS,
            "queue_order_strategy": "priority",
            "socket_connect_timeout": 3,
            "socket_timeout": 10,
        },
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_backend": None,
        "task_ignore_result": True,
        "task_default_queue": settings.queue_name,
        "task_default_priority": PRIORITY[Acuity.LESS_URGENT],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_soft_time_limit": settings.task_soft_time_limit_s,
        "task_time_limit": settings.task_time_limit_s,
        "worker_prefetch_multiplier": 1,
        "worker_concurrency": 1,
        # Model loading in worker_process_init can take minutes on a GPU box.
        "worker_proc_alive_timeout": 600,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
    }


def make_celery(settings: Settings, name: str = "medtriage") -> Celery:
    app = Celery(name, set_as_current=False)
    app.conf.update(celery_config(settings))
    return app


class Dispatcher:
    """Sends analysis tasks and keeps the per-case marker and lease keys in Redis."""

    def __init__(self, redis_client: redis.Redis, settings: Settings) -> None:
        self.redis = redis_client
        self.settings = settings
        self._release = self.redis.register_script(_RELEASE_IF_OWNER)
        self._refresh = self.redis.register_script(_REFRESH_IF_OWNER)

    @classmethod
    def from_settings(cls, settings: Settings) -> Dispatcher:
        client = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=3, socket_timeout=5
        )
        return cls(client, settings)

    def send(self, case_id: int, acuity: Acuity | int) -> bool:
        """Publish the task and set its dispatch marker atomically; False if Redis is down.

        MULTI/EXEC: either both land or neither does, so a marker never hides a lost case.
        """
        priority = PRIORITY[Acuity(acuity)]
        message = task_message(TASK_ANALYZE, [case_id], self.settings.queue_name, priority)
        try:
            with self.redis.pipeline(transaction=True) as pipe:
                pipe.lpush(list_key(self.settings.queue_name, priority, PRIORITY_STEPS), message)
                pipe.set(MARKER_KEY.format(case_id=case_id), int(time.time()), ex=MARKER_TTL_S)
                pipe.execute()
        except QUEUE_ERRORS as exc:
            log.warning("dispatch of case %s failed: %s", case_id, type(exc).__name__)
            return False
        return True

    def waiting(self) -> set[int]:
        """Ids of the cases whose message waits on a queue list, not yet taken by a worker.

        One round trip for all priority lists. Messages a worker has taken (running, or
        prefetched and not started) are not here but in kombu's `unacked` set.
        """
        queue, steps = self.settings.queue_name, PRIORITY_STEPS
        with self.redis.pipeline(transaction=False) as pipe:
            for step in steps:
                pipe.lrange(list_key(queue, step, steps), 0, -1)
            lists = pipe.execute()
        ids = (message_case_id(raw) for messages in lists for raw in messages)
        return {case_id for case_id in ids if case_id is not None}

    def has_marker(self, case_id: int) -> bool:
        return bool(self.redis.exists(MARKER_KEY.format(case_id=case_id)))

    def clear_marker(self, case_id: int) -> None:
        self.redis.delete(MARKER_KEY.format(case_id=case_id))

    def acquire_lease(self, case_id: int) -> str | None:
        """Claim the case for this execution; None if another live execution holds it."""
        token = uuid.uuid4().hex
        ok = self.redis.set(
            LEASE_KEY.format(case_id=case_id), token, nx=True, ex=self.settings.lease_ttl_s
        )
        return token if ok else None

    def refresh_lease(self, case_id: int, token: str) -> bool:
        """Extend our lease; False if it lapsed and another execution holds it now."""
        key = LEASE_KEY.format(case_id=case_id)
        return bool(self._refresh(keys=[key], args=[token, self.settings.lease_ttl_s]))

    def release_lease(self, case_id: int, token: str) -> None:
        self._release(keys=[LEASE_KEY.format(case_id=case_id)], args=[token])

    def has_lease(self, case_id: int) -> bool:
        return bool(self.redis.exists(LEASE_KEY.format(case_id=case_id)))

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except QUEUE_ERRORS:
            return False
