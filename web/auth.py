"""Login, logout and the idle lock, bearer tokens, terminal names, and the role check every
route declares. Login sessions are ended by the server (shared.sessions): logout, lock and
disabling a user end them on every process at once, and an idle one expires."""

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
from werkzeug.exceptions import Forbidden, Unauthorized
from werkzeug.wrappers import Response

from shared import accounts, audit
from shared.accounts import Principal
from shared.db import Role, User
from shared.sessions import SessionRegistry
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


def requires(*roles: Role) -> Callable[[F], F]:
    """Allow only logged-in users (session or bearer token) with one of `roles`."""
    allowed = frozenset(roles)

    def decorate(view: F) -> F:
        ROUTE_ROLES[f"{view.__module__.rsplit('.', 1)[-1]}.{view.__name__}"] = allowed

        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                ended = g.get("session_ended", False)
                if request.path.startswith("/api/"):
                    raise Unauthorized(
                        SESSION_ENDED
                        if ended
                        else "Log in or send 'Authorization: Bearer <token>'."
                    )
                extra = {"locked": "ended"} if ended else {}
                return redirect(url_for("auth.login", next=request.full_path, **extra))
            if user.role not in allowed:
                raise Forbidden("Your role does not allow this.")
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
    if token is not None:
        user = current_app.extensions["token_cache"].lookup(get_db(), token)
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


def _minutes(value: float) -> str:
    return f"{value:g} minute" + ("" if value == 1 else "s")


def init_app(app: Flask) -> None:
    settings = app.config["MEDTRIAGE"]
    app.extensions["login_sessions"] = SessionRegistry.from_settings(settings)
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


@bp.route("/login", methods=["GET", "POST"])
@public
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
    user = accounts.authenticate(
        db, request.form.get("username", ""), request.form.get("password", "")
    )
    if user is None:
        db.rollback()
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
    response = redirect(_safe_next(request.args.get("next")))
    _remember_terminal(response, terminal)
    return response


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
