"""Health check for load balancers and compose: touches the database and Redis for real."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from web.auth import public
from web.db import get_db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz() -> Any:
    try:
        get_db().execute(text("SELECT 1"))
        database = "ok"
    except DBAPIError:
        database = "unavailable"
    queue = "ok" if current_app.extensions["dispatcher"].ping() else "unavailable"
    status = 200 if database == "ok" else 503
    return jsonify(database=database, queue=queue), status
