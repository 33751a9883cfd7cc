"""Login sessions the server can end: at logout, when a user is disabled, and when idle.

The session cookie stays signed and small (user id, session id, times, CSRF token, flash
messages; never patient data). What makes a session live is its record in Redis,
`medtriage:session:<sid>`, whose time to live is the idle timeout, renewed by what the user
does (pages, forms, the terminal's activity ping), not by the board's background polling.
Logout deletes the record; disabling a user deletes every record listed in
`medtriage:user-sessions:<uid>`; an idle one expires. Flushing Redis logs everyone out and
loses no case (cases live in the database).

While Redis cannot be reached the web keeps serving sessions already open on the cookie's own
record of activity (idle timeout and lifetime still hold, and the user must still be active in
the database), so intake does not stop with the queue. A logout in that time is remembered by
the process and applied when Redis answers again; a login in that time makes a session that
ends when Redis is back (the user logs in once more).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Literal

import redis

from shared.config import Settings

log = logging.getLogger(__name__)

SESSION_KEY = "medtriage:session:{sid}"
USER_SESSIONS_KEY = "medtriage:user-sessions:{uid}"
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)
# The terminal reports activity at most this often, so the record lives this much longer.
ACTIVITY_GRACE_S = 30
RETRY_AFTER_OUTAGE_S = 2.0

State = Literal["live", "ended", "unknown"]


class SessionRegistry:
    """The live sessions, in Redis; "unknown" when Redis cannot say."""

    def __init__(self, client: redis.Redis, idle_s: float, max_age_s: float) -> None:
        self.client = client
        self.idle_s = idle_s
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        # Ended while Redis was unreachable, applied when it answers again.
        self._ended: set[str] = set()
        self._ended_users: set[int] = set()
        self._down_until = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionRegistry:
        client = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=1, socket_timeout=1
        )
        return cls(client, settings.idle_lock_minutes * 60, settings.session_max_hours * 3600)

    @property
    def grace_s(self) -> float:
        """How much the record outlives the idle time: the terminal's ping interval."""
        return min(ACTIVITY_GRACE_S, self.idle_s / 4)

    @property
    def ttl_s(self) -> int:
        return max(1, round(self.idle_s + self.grace_s))

    def _reachable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, what: str, exc: BaseException) -> None:
        self._down_until = time.monotonic() + RETRY_AFTER_OUTAGE_S
        log.warning("sessions: Redis unreachable during %s (%s)", what, type(exc).__name__)

    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._ended = self._ended, set()
            users, self._ended_users = self._ended_users, set()
        try:
            if pending:
                self.client.delete(*(SESSION_KEY.format(sid=sid) for sid in pending))
            for uid in users:
                self._end_user(uid)
        except REDIS_ERRORS:
            with self._lock:
                self._ended |= pending
                self._ended_users |= users
            raise

    def _sids(self, uid: int) -> list[str]:
        members: set[bytes] = self.client.smembers(USER_SESSIONS_KEY.format(uid=uid))  # type: ignore[assignment]
        return [m.decode() for m in members]

    def _end_user(self, uid: int) -> int:
        keys = [SESSION_KEY.format(sid=sid) for sid in self._sids(uid)]
        ended = int(self.client.delete(*keys)) if keys else 0  # type: ignore[arg-type]
        self.client.delete(USER_SESSIONS_KEY.format(uid=uid))
        return ended

    def start(self, uid: int, username: str, terminal: str) -> tuple[str, bool]:
        """A new session id, and whether Redis recorded it."""
        sid = secrets.token_urlsafe(32)
        key = SESSION_KEY.format(sid=sid)
        record: dict[str, str | int] = {
            "uid": uid,
            "username": username,
            "terminal": terminal,
            "at": int(time.time()),
        }
        if not self._reachable():
            return sid, False
        try:
            self._apply_pending()
            with self.client.pipeline() as pipe:
                pipe.hset(key, mapping=record)  # type: ignore[arg-type]
                pipe.expire(key, self.ttl_s)
                pipe.sadd(USER_SESSIONS_KEY.format(uid=uid), sid)
                pipe.expire(USER_SESSIONS_KEY.format(uid=uid), round(self.max_age_s))
                pipe.execute()
        except REDIS_ERRORS as exc:
            self._failed("login", exc)
            return sid, False
        return sid, True

    def check(self, sid: str, touch: bool) -> State:
        """Is this session live? `touch` renews its idle timeout (the user did something)."""
        if self._reachable():
            key = SESSION_KEY.format(sid=sid)
            try:
                self._apply_pending()
                alive = self.client.expire(key, self.ttl_s) if touch else self.client.exists(key)
            except REDIS_ERRORS as exc:
                self._failed("a session check", exc)
            else:
                return "live" if alive else "ended"
        with self._lock:
            return "ended" if sid in self._ended else "unknown"

    def end(self, sid: str) -> None:
        """Logout or lock: the session ends on every process at once."""
        try:
            if not self._reachable():
                raise redis.exceptions.ConnectionError("recently unreachable")
            self.client.delete(SESSION_KEY.format(sid=sid))
        except REDIS_ERRORS as exc:
            self._failed("logout", exc)
            with self._lock:
                self._ended.add(sid)

    def end_user(self, uid: int) -> int | None:
        """Every session of one user (disabled, password reset); None when Redis is down."""
        try:
            if not self._reachable():
                raise redis.exceptions.ConnectionError("recently unreachable")
            return self._end_user(uid)
        except REDIS_ERRORS as exc:
            self._failed("ending a user's sessions", exc)
            with self._lock:
                self._ended_users.add(uid)
            return None

    def count_for_user(self, uid: int) -> int:
        """Live sessions of one user (expired ones drop out of the count)."""
        keys = [SESSION_KEY.format(sid=sid) for sid in self._sids(uid)]
        return int(self.client.exists(*keys)) if keys else 0  # type: ignore[arg-type]
