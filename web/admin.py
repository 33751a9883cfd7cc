"""Admin: users and API tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from shared import accounts
from shared.db import ApiToken, Role, User
from web.auth import current_user, requires
from web.db import get_db

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _page(status: int = 200, **extra: Any) -> Any:
    db = get_db()
    users = db.scalars(select(User).order_by(User.username)).all()
    tokens = db.scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()
    return render_template(
        "admin.html", users=users, tokens=tokens, roles=list(Role), **extra
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
        )
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
    token = accounts.create_token(db, owner, request.form.get("name", "token"), actor.username)
    db.commit()
    # Shown once: only its digest is stored.
    return _page(new_token=token)


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
