"""Login, logout and the idle lock, password changes, bearer tokens (API only, with a scope and
an expiry), terminal names, and the role check every route declares. Login sessions are ended
by the server (shared.sessions): logout, lock, a password change and disabling a user end them
on every process at once, and an idle one expires. Failed logins are throttled (web.throttle)
and password hashing is bounded (accounts.HashSlots), so logins never starve intake."""

from __future__ import annotations

import datetime as dt
import functools
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import Forbidden, Unauthorized
from werkzeug.wrappers import Response

from shared import accounts, audit
from shared.accounts import HashingBusy, HashSlots, Principal
from shared.db import Role, User
from shared.db.models import TokenScope
from shared.sessions import SessionRegistry
from web import throttle, transport
from web.db import get_db

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])

# Every view declares who may use it; a test walks url_map against this table.
ROUTE_ROLES: dict[str, frozenset[Role] | None] = {}

STAFF = frozenset({Role.NURSE, Role.CLINICIAN, Role.ADMIN})
READERS = STAFF | {Role.AUDITOR}

TERMINAL_COOKIE = "medtriage_terminal"
TERMINAL_RE = re.compile(r"^[\w][\w .#/()-]{0,39}$")
SESSION_ENDED = "Your session ended (logged out, locked, idle or disabled). Log in to go on."
LOCKED = {
    "idle": "This terminal locked after {minutes} without activity.",
    "switch": "Switch user: log in as the next user.",
    "ended": SESSION_ENDED,
}
MUST_CHANGE = (
    "Change your password first: the one you have was generated or reset. "
    "Log in with a browser and open /account/password."
)
BUSY = "Too many logins at once; try again in a moment."


def _needed_scope(allowed: frozenset[Role]) -> TokenScope:
    """What a token must be allowed for this request: admin routes need `admin`, other
    reads `read`, other writes `submit`."""
    if allowed <= {Role.ADMIN, Role.AUDITOR}:
        return TokenScope.ADMIN
    return TokenScope.READ if request.method in ("GET", "HEAD") else TokenScope.SUBMIT


def requires(*roles: Role, password_change: bool = False) -> Callable[[F], F]:
    """Allow only logged-in users (a session, or a bearer token on the API) with one of
    `roles`. A user who must change their password reaches only `password_change` views."""
    allowed = frozenset(roles)

    def decorate(view: F) -> F:
        ROUTE_ROLES[f"{view.__module__.rsplit('.', 1)[-1]}.{view.__name__}"] = allowed

        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            api = request.path.startswith("/api/")
            if user is None:
                ended = g.get("session_ended", False)
                if api:
                    raise Unauthorized(
                        g.get("auth_refused")
                        or (
                            SESSION_ENDED
                            if ended
                            else "Log in or send 'Authorization: Bearer <token>'."
                        )
                    )
                extra = {"locked": "ended"} if ended else {}
                return redirect(url_for("auth.login", next=request.full_path, **extra))
            if user.must_change_password and not password_change:
                if api:
                    raise Forbidden(MUST_CHANGE)
                return redirect(url_for("auth.password", next=request.full_path))
            if user.role not in allowed:
                raise Forbidden("Your role does not allow this.")
            needed = _needed_scope(allowed)
            if user.scope is not None and not user.scope.allows(needed):
                raise Forbidden(
                    f"This API token's scope is '{user.scope.value}'; "
                    f"this request needs scope '{needed.value}'."
                )
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    ROUTE_ROLES[f"{view.__module__.rsplit('.', 1)[-1]}.{view.__name__}"] = None
    return view


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def registry() -> SessionRegistry:
    found: SessionRegistry = current_app.extensions["login_sessions"]
    return found


def _user_activity() -> bool:
    """Pages, forms and the terminal's activity ping renew the idle timeout; background API
    reads (the board's polling) do not, so an unattended board still locks."""
    return request.endpoint == "auth.api_session" or not request.path.startswith("/api/")


def _session_user() -> Principal | None:
    """The user of a live login session; ends the cookie's session when the server has."""
    sid, uid = session.get("sid"), session.get("uid")
    now = time.time()
    sessions = registry()
    touch = _user_activity()
    state = sessions.check(sid, touch) if isinstance(sid, str) else "ended"
    if state == "unknown":
        # Redis is unreachable: the cookie's own clock, so intake goes on during the outage.
        idle = now - float(session.get("seen", 0)) > sessions.idle_s + sessions.grace_s
        state = "ended" if idle else "live"
    if state == "live" and now - float(session.get("started", 0)) > sessions.max_age_s:
        sessions.end(str(sid))
        state = "ended"
    if state == "ended":
        session.clear()
        g.session_ended = True
        return None
    if touch and now - float(session.get("seen", 0)) >= 10:
        session["seen"] = int(now)
    found = get_db().get(User, uid)
    return Principal.of(found) if found is not None and found.active else None


def current_user() -> Principal | None:
    if "user" in g:
        user: Principal | None = g.user
        return user
    user = None
    token = bearer_token()
    if token is not None and request.path.startswith("/api/"):
        # A token authenticates the API only: it never drives a page or a form.
        found = current_app.extensions["token_cache"].lookup(get_db(), token)
        if found is None:
            g.auth_refused = "Unknown or revoked API token (or its user is disabled)."
        elif found.expired():
            g.auth_refused = (
                f"This API token expired at {found.expires_at:%Y-%m-%d %H:%M} UTC; "
                "ask an admin for a new one."
            )
        else:
            user = found.principal
    elif "uid" in session:
        # Session cookies only authenticate pages and read-only API calls; a state change
        # over the API needs a token, so a forged cross-site request has nothing to ride on.
        if request.path.startswith("/api/") and request.method not in ("GET", "HEAD"):
            user = None
        else:
            user = _session_user()
    g.user = user
    return user


def terminal_name(raw: str | None = None) -> str:
    """This terminal's name, from its cookie (or as typed); "" when unset or not acceptable."""
    value = " ".join((request.cookies.get(TERMINAL_COOKIE, "") if raw is None else raw).split())
    return value if TERMINAL_RE.match(value) else ""


# Answers to a refused password attempt: wrong, locked out, hashing busy.
REFUSED = frozenset({401, 429, 503})


@bp.after_request
def _close_refused_attempts(response: Response) -> Response:
    """A refused login or password change closes its connection (web.transport): a flood of
    attempts must queue for a connection like every other client, never keep one."""
    if request.method == "POST" and response.status_code in REFUSED:
        transport.close_connection(response)
    return response


def _minutes(value: float) -> str:
    return f"{value:g} minute" + ("" if value == 1 else "s")


def init_app(app: Flask) -> None:
    settings = app.config["MEDTRIAGE"]
    app.extensions["login_sessions"] = SessionRegistry.from_settings(settings)
    app.extensions["hash_slots"] = HashSlots(
        settings.password_hash_slots, settings.password_hash_wait_s
    )
    throttle.init_app(app)
    app.register_error_handler(RateLimitExceeded, _locked_out)
    # The session cookie outlives no login; the server ends the session before that anyway.
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=settings.session_max_hours)

    @app.context_processor
    def _inject_user() -> dict[str, Any]:
        return {
            "current_user": g.get("user"),
            "Role": Role,
            "terminal": terminal_name(),
            "idle_lock_ms": round(settings.idle_lock_minutes * 60_000),
        }


def _safe_next(target: str | None) -> str:
    """Only a path on this site: browsers read "/\\evil.com" as "//evil.com"."""
    if target and target.startswith("/") and target.isprintable() and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and not target.startswith("//"):
            return target
    return url_for("board.board_page")


def _remember_terminal(response: Response, name: str) -> None:
    if name != terminal_name():
        response.set_cookie(
            TERMINAL_COOKIE,
            name,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )


def _login_page(error: str | None, status: int) -> tuple[str, int]:
    settings = current_app.config["MEDTRIAGE"]
    locked = LOCKED.get(request.args.get("locked", ""), "")
    return render_template(
        "login.html",
        error=error,
        locked=locked.format(minutes=_minutes(settings.idle_lock_minutes)),
    ), status


def _with_retry_after(page: tuple[str, int], seconds: int) -> Response:
    response = current_app.make_response(page)
    response.headers["Retry-After"] = str(seconds)
    return response


def _locked_out(_exc: RateLimitExceeded) -> Response:
    """Too many failed logins: the page says for how long; `Retry-After` says it to programs."""
    seconds = throttle.retry_after_s()
    wait = _minutes(round(seconds / 60)) if seconds >= 90 else f"{seconds} seconds"
    message = f"Too many failed logins. Try again in {wait}."
    if request.endpoint == "auth.password":
        return _with_retry_after(_password_page(message, 429), seconds)
    return _with_retry_after(_login_page(message, 429), seconds)


def _failed_login(username: str, reason: str | None, terminal: str) -> None:
    """Every failed login is an audit event. The typed name is kept only when it is a real
    account: an unknown one is often a password typed into the wrong field."""
    g.password_failed = True  # counted by the login throttle
    db = get_db()
    db.rollback()
    known = reason in ("wrong password", "disabled user")
    audit.record(
        db,
        actor=username.strip().lower() if known else "anonymous",
        action="user.login_failed",
        detail={
            "reason": reason,
            "address": request.remote_addr,
            "terminal": terminal or None,
        },
    )
    db.commit()


@bp.route("/login", methods=["GET", "POST"])
@public
@throttle.address_throttle
@throttle.user_throttle
def login() -> Any:
    if request.method == "GET":
        return _login_page(None, 200)
    db = get_db()
    terminal = terminal_name(request.form.get("terminal", ""))
    if request.form.get("terminal", "").strip() and not terminal:
        return _login_page(
            "Terminal name: up to 40 letters, digits, spaces and . - # / ( ), "
            "starting with a letter or digit.",
            400,
        )
    username = request.form.get("username", "")
    try:
        check = accounts.check_login(
            db, username, request.form.get("password", ""), current_app.extensions["hash_slots"]
        )
    except HashingBusy:
        db.rollback()
        return _with_retry_after(_login_page(BUSY, 503), HashingBusy.retry_after_s)
    user = check.user
    if user is None:
        _failed_login(username, check.failure, terminal)
        return _login_page("Unknown username or wrong password.", 401)
    sid, _recorded = registry().start(user.id, user.username, terminal)
    audit.record(
        db, actor=user.username, action="user.login", detail={"terminal": terminal or None}
    )
    db.commit()
    now = int(time.time())
    session.clear()
    session.update(uid=user.id, user=user.username, sid=sid, started=now, seen=now)
    session.permanent = True
    target = _safe_next(request.args.get("next"))
    if user.must_change_password:
        target = url_for("auth.password", next=target)
    response = redirect(target)
    _remember_terminal(response, terminal)
    return response


def _password_page(error: str | None, status: int) -> tuple[str, int]:
    user = current_user()
    return render_template(
        "password.html",
        error=error,
        must_change=user is not None and user.must_change_password,
        min_length=accounts.MIN_PASSWORD,
    ), status


@bp.route("/account/password", methods=["GET", "POST"])
@requires(*READERS, password_change=True)
@throttle.address_throttle
@throttle.user_throttle
def password() -> Any:
    """Change one's own password (required after a generated or reset one). Every other
    session of the user ends; this terminal stays logged in."""
    if request.method == "GET":
        return _password_page(None, 200)
    user = current_user()
    assert user is not None
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        return _password_page("The new password and its confirmation differ.", 422)
    db = get_db()
    try:
        accounts.change_password(
            db,
            user.id,
            request.form.get("current_password", ""),
            new,
            current_app.extensions["hash_slots"],
            registry(),
        )
    except HashingBusy:
        db.rollback()
        return _with_retry_after(_password_page(BUSY, 503), HashingBusy.retry_after_s)
    except accounts.AccountError as exc:
        db.rollback()
        wrong = "current password is wrong" in str(exc)
        if wrong:
            _failed_login(user.username, "wrong password", terminal_name())
        return _password_page(str(exc), 422)
    db.commit()
    current_app.extensions["token_cache"].clear()  # its tokens no longer wait on the change
    sid, _recorded = registry().start(user.id, user.username, terminal_name())
    now = int(time.time())
    session.update(sid=sid, started=now, seen=now)
    g.pop("user", None)
    flash("Your password is changed. Your other sessions have ended.")
    return redirect(_safe_next(request.args.get("next")))


# What ended a session, as the audit trail names it.
END_ACTIONS = {"logout": "user.logout", "idle": "user.locked", "switch": "user.switched"}


@bp.route("/logout", methods=["POST"])
@public
def logout() -> Any:
    """Log out, lock after idle, or switch user: the session ends everywhere at once. Lock
    and switch come back to the same page after the next login (the browser keeps an
    unfinished intake form in the tab)."""
    reason = request.form.get("reason", "logout")
    reason = reason if reason in END_ACTIONS else "logout"
    username, sid = session.get("user"), session.get("sid")
    if isinstance(sid, str):
        registry().end(sid)
    if isinstance(username, str):
        db = get_db()
        audit.record(
            db,
            actor=username,
            action=END_ACTIONS[reason],
            detail={"terminal": terminal_name() or None},
        )
        db.commit()
    session.clear()
    if reason == "logout":
        flash("You are logged out.")
        return redirect(url_for("auth.login"))
    next_page = _safe_next(request.form.get("next"))
    return redirect(url_for("auth.login", next=next_page, locked=reason))


@bp.get("/api/v1/session")
@requires(*READERS)
def api_session() -> Any:
    """The terminal's activity ping: renews the idle timeout and says who is logged in."""
    user = current_user()
    assert user is not None
    settings = current_app.config["MEDTRIAGE"]
    return jsonify(
        username=user.username,
        role=user.role.value,
        terminal=terminal_name() or None,
        idle_lock_s=settings.idle_lock_minutes * 60,
    )
