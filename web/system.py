"""System page for admins: database and Redis health, workers online, queue depths, and the
models each worker host last ran."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template
from sqlalchemy.exc import SQLAlchemyError

from shared import operations
from shared.db import Role
from shared.queue import QUEUE_ERRORS
from web.auth import requires
from web.db import get_db

bp = Blueprint("system", __name__, url_prefix="/admin")


def _queues(settings: Any) -> dict[str, Any] | None:
    """Depth per priority list and unacknowledged count; None when Redis does not answer."""
    client = current_app.extensions["dispatcher"].redis
    try:
        return {
            "depths": operations.queue_depths(client, settings.queue_name),
            "unacked": operations.unacked(client),
        }
    except QUEUE_ERRORS:
        return None


def _models() -> list[operations.ModelsSeen] | None:
    """What each worker host last ran; None when the database does not answer."""
    try:
        return operations.models_seen(get_db())
    except SQLAlchemyError:
        get_db().rollback()
        return None


@bp.get("/system")
@requires(Role.ADMIN)
def system_page() -> Any:
    settings = current_app.config["MEDTRIAGE"]
    checks = [
        operations.check_database(get_db()),
        operations.check_redis(current_app.extensions["dispatcher"].redis),
    ]
    redis_ok = checks[1].ok
    return render_template(
        "system.html",
        checks=checks,
        workers=current_app.extensions["worker_ping"]() if redis_ok else None,
        queues=_queues(settings) if redis_ok else None,
        models=_models() if checks[0].ok else None,
        pipeline=settings.pipeline,
        queue_name=settings.queue_name,
    ), (200 if all(c.ok for c in checks) else 503)
