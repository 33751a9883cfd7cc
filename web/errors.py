"""Errors in one place: JSON for the API, a plain page for people, no 500 for bad input."""

from __future__ import annotations

import logging
from typing import TypeVar

from flask import Flask, Response, jsonify, render_template, request
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import BadRequest, HTTPException

from shared.db import DatabaseNotAvailableError
from shared.db.session import is_outage

log = logging.getLogger(__name__)

DB_DOWN = "The database is not available. Your submission was not saved; try again shortly."


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, message: str, **extra: object) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify(error=message, status=status, **extra), status
    return render_template("error.html", status=status, message=message), status


M = TypeVar("M", bound=BaseModel)


def parse_strict_json(schema: type[M], body: bytes) -> M:
    """An API body as `schema`, in strict JSON mode: a boolean is never a number, "40" is not
    a number, "yes" not a boolean. A body that is not JSON (nested past the parser's depth
    limit included) or not an object is a 400; field errors raise ValidationError, for the
    caller's 422 with the field names."""
    try:
        return schema.model_validate_json(body, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise BadRequest("The body is not valid JSON.") from None
        if first["type"] == "model_type" and not first["loc"]:
            raise BadRequest("The body is not a JSON object.") from None
        raise


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Response | str, int]:
        return error_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(DatabaseNotAvailableError)
    def _db_down(_exc: DatabaseNotAvailableError) -> tuple[Response | str, int]:
        return error_response(503, DB_DOWN)

    @app.errorhandler(DBAPIError)
    def _db_error(exc: DBAPIError) -> tuple[Response | str, int]:
        if is_outage(exc):
            log.warning("database unavailable: %s", type(exc.orig).__name__)
            return error_response(503, DB_DOWN)
        log.exception("database error")
        return error_response(500, "Internal error; nothing was changed.")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
        )
        return response
