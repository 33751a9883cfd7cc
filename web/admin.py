"""Admin: users (create, disable or enable, reset a password) and API tokens (scope, expiry)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from shared import accounts
from shared.db import ApiToken, Role, User
from shared.db.models import TokenScope, utcnow
from web.auth import current_user, registry, requires
from web.db import get_db

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _page(status: int = 200, **extra: Any) -> Any:
    db = get_db()
    users = db.scalars(select(User).order_by(User.username)).all()
    tokens = db.scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()
    settings = current_app.config["MEDTRIAGE"]
    return render_template(
        "admin.html",
        users=users,
        tokens=tokens,
        roles=list(Role),
        scopes=list(TokenScope),
        token_days=settings.token_days,
        max_token_days=accounts.MAX_TOKEN_DAYS,
        now=utcnow(),
        **extra,
    ), status


@bp.get("/users")
@requires(Role.ADMIN)
def users() -> Any:
    return _page()


@bp.post("/users")
@requires(Role.ADMIN)
def create_user() -> Any:
    db = get_db()
    actor = current_user()
    assert actor is not None
    try:
        user = accounts.create_user(
            db,
            request.form.get("username", ""),
            request.form.get("password", ""),
            request.form.get("role", ""),
            actor=actor.username,
            # The admin typed it: the user chooses their own at the first login.
            must_change_password=True,
            slots=current_app.extensions["hash_slots"],
        )
    except accounts.HashingBusy:
        db.rollback()
        return _page(503, error="Password checks are busy; try again in a moment.")
    except accounts.AccountError as exc:
        db.rollback()
        return _page(422, error=str(exc))
    db.commit()
    flash(f"User {user.username} ({user.role.value}) created.")
    return redirect(url_for("admin.users"))


@bp.post("/tokens")
@requires(Role.ADMIN)
def create_token() -> Any:
    db = get_db()
    actor = current_user()
    assert actor is not None
    owner = db.scalar(select(User).where(User.username == request.form.get("username", "")))
    if owner is None:
        db.rollback()
        return _page(422, error="No such user.")
    days = request.form.get("days", "").strip()
    try:
        token = accounts.create_token(
            db,
            owner,
            request.form.get("name", "token"),
            actor.username,
            scope=request.form.get("scope", ""),
            days=int(days) if days.isdigit() else 0,
        )
    except accounts.AccountError as exc:
        db.rollback()
        return _page(422, error=str(exc))
    db.commit()
    # Shown once: only its digest is stored.
    return _page(new_token=token)


@bp.post("/users/<int:user_id>/active")
@requires(Role.ADMIN)
def set_active(user_id: int) -> Any:
    """Disable (every session of the user ends at once, tokens stop) or enable a user."""
    db = get_db()
    actor = current_user()
    assert actor is not None
    active = request.form.get("active") == "1"
    if not active and user_id == actor.id:
        return _page(422, error="You cannot disable yourself; another admin can.")
    try:
        user = accounts.set_active(db, user_id, active, actor.username, registry())
    except accounts.AccountError as exc:
        db.rollback()
        return _page(404, error=str(exc))
    db.commit()
    current_app.extensions["token_cache"].clear()
    flash(f"User {user.username} {'enabled' if active else 'disabled'}.")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/password")
@requires(Role.ADMIN)
def reset_password(user_id: int) -> Any:
    """A generated password, shown once; the user must change it at their next login."""
    db = get_db()
    actor = current_user()
    assert actor is not None
    try:
        user, temporary = accounts.reset_password(
            db, user_id, actor.username, registry(), current_app.extensions["hash_slots"]
        )
    except accounts.HashingBusy:
        db.rollback()
        return _page(503, error="Password checks are busy; try again in a moment.")
    except accounts.AccountError as exc:
        db.rollback()
        return _page(404, error=str(exc))
    db.commit()
    return _page(reset_user=user.username, temporary_password=temporary)


@bp.post("/tokens/<int:token_id>/revoke")
@requires(Role.ADMIN)
def revoke_token(token_id: int) -> Any:
    db = get_db()
    actor = current_user()
    assert actor is not None
    accounts.revoke_token(db, token_id, actor.username)
    db.commit()
    current_app.extensions["token_cache"].clear()
    flash("Token revoked.")
    return redirect(url_for("admin.users"))
