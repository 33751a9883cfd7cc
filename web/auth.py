"""Login, logout, bearer tokens, and the role check every route declares."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import Forbidden, Unauthorized

from shared import accounts, audit
from shared.accounts import Principal
from shared.db import Role, User
from web.db import get_db

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])

# Every view declares who may use it; a test walks url_map against this table.
ROUTE_ROLES: dict[str, frozenset[Role] | None] = {}

STAFF = frozenset({Role.NURSE, Role.CLINICIAN, Role.ADMIN})
READERS = STAFF | {Role.AUDITOR}


def requires(*roles: Role) -> Callable[[F], F]:
    """Allow only logged-in users (session or bearer token) with one of `roles`."""
    allowed = frozenset(roles)

    def decorate(view: F) -> F:
        ROUTE_ROLES[f"{view.__module__.rsplit('.', 1)[-1]}.{view.__name__}"] = allowed

        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                if request.path.startswith("/api/"):
                    raise Unauthorized("Log in or send 'Authorization: Bearer <token>'.")
                return redirect(url_for("auth.login", next=request.full_path))
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
            found = get_db().get(User, session["uid"])
            user = Principal.of(found) if found is not None and found.active else None
    g.user = user
    return user


def init_app(app: Flask) -> None:
    @app.context_processor
    def _inject_user() -> dict[str, Any]:
        return {"current_user": g.get("user"), "Role": Role}


def _safe_next(target: str | None) -> str:
    """Only a path on this site: browsers read "/\\evil.com" as "//evil.com"."""
    if target and target.startswith("/") and target.isprintable() and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and not target.startswith("//"):
            return target
    return url_for("board.board_page")


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    error = None
    if request.method == "POST":
        db = get_db()
        user = accounts.authenticate(
            db, request.form.get("username", ""), request.form.get("password", "")
        )
        if user is None:
            error = "Unknown username or wrong password."
            db.rollback()
        else:
            audit.record(db, actor=user.username, action="user.login")
            db.commit()
            session.clear()
            session["uid"] = user.id
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
    status = 401 if error else 200
    return render_template("login.html", error=error), status


@bp.route("/logout", methods=["POST"])
@public
def logout() -> Any:
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))
