"""Login throttling with flask-limiter, counted in Redis so every web process agrees: failed
logins per username and per client address; past the limit a temporary lockout (429 with
`Retry-After`) until the oldest failure leaves the window. Only failures count (a 401 answer),
and refused attempts do not, so a lockout ends on its own. When Redis is unreachable each
process counts on its own (flask-limiter's in-memory fallback) and logins go on."""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, g, request
from flask.wrappers import Response
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from sqlalchemy import select

from shared import audit
from shared.db import User
from shared.sessions import REDIS_ERRORS
from web.db import get_db

log = logging.getLogger(__name__)

LOCK_MARK = "medtriage:login-lockout:{key}"

# One extension object, as Flask extensions are; init_app points it at the app's Redis.
limiter = Limiter(
    key_func=get_remote_address,
    strategy="moving-window",
    key_prefix="medtriage:login",
    # Retry-After is set on the lockout answer only (web.auth), not on every login page.
    headers_enabled=False,
    in_memory_fallback_enabled=True,
    swallow_errors=True,
)


def typed_username() -> str:
    return request.form.get("username", "").strip().lower()[:64]


def user_key() -> str:
    """Per username: the account being logged into, or whose password is being changed."""
    from web.auth import current_user

    user = current_user() if request.endpoint != "auth.login" else None
    return "user:" + (user.username if user is not None else typed_username())


def address_key() -> str:
    return "address:" + (get_remote_address() or "unknown")


def user_limit() -> str:
    limit: str = current_app.config["MEDTRIAGE"].login_limit_user
    return limit


def address_limit() -> str:
    limit: str = current_app.config["MEDTRIAGE"].login_limit_address
    return limit


def failed(_response: Response) -> bool:
    """A wrong password (or current password) was given: that, and only that, counts."""
    return bool(g.get("password_failed", False))


def _seconds_left(found: RequestLimit | None) -> int:
    """Seconds until a lockout ends: at least 1, at most its window (the storage keeps whole
    seconds, so the raw difference can round up past the window)."""
    if found is None:
        return 60
    window = found.limit.get_expiry()
    return max(1, min(window, math.ceil(found.reset_at - time.time())))


def retry_after_s() -> int:
    """Seconds until the lockout this request met ends."""
    return _seconds_left(limiter.current_limit)


def _known_username() -> str | None:
    name = user_key().removeprefix("user:")
    if not name:
        return None
    found = get_db().scalar(select(User.username).where(User.username == name))
    return found


def on_breach(breached: RequestLimit) -> None:
    """One audit event when a lockout begins (not one per refused attempt, so a flood cannot
    fill the audit trail): the first refusal marks the lockout in Redis for its length."""
    by = "username" if "/user:" in breached.key else "address"
    seconds = _seconds_left(breached)
    client = current_app.extensions["login_sessions"].client
    try:
        first = bool(client.set(LOCK_MARK.format(key=breached.key), 1, nx=True, ex=seconds))
    except REDIS_ERRORS:
        first = True
    if not first:
        return
    db = get_db()
    username = _known_username()
    audit.record(
        db,
        actor=username or "anonymous",
        action="user.login_locked",
        detail={
            "by": by,
            "address": get_remote_address(),
            "retry_after_s": seconds,
            "endpoint": request.endpoint,
        },
    )
    db.commit()
    log.warning("login lockout by %s for %d s", by, seconds)


user_throttle = limiter.shared_limit(
    user_limit,
    scope="login-user",
    key_func=user_key,
    methods=["POST"],
    deduct_when=failed,
    on_breach=on_breach,
)
address_throttle = limiter.shared_limit(
    address_limit,
    scope="login-address",
    key_func=address_key,
    methods=["POST"],
    deduct_when=failed,
    on_breach=on_breach,
)


def init_app(app: Flask) -> None:
    settings = app.config["MEDTRIAGE"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url)
    app.config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1}
    )
    limiter.init_app(app)
