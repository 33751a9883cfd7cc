"""The live board: a page, and `GET /api/v1/board` that answers 304 when nothing changed."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request

from shared.board import board_cases, board_counts, board_row, board_version
from shared.schemas import Acuity
from web.auth import STAFF, requires
from web.db import get_db

bp = Blueprint("board", __name__)


def targets() -> dict[int, int]:
    """Waiting-time target in minutes per acuity level 1-5."""
    targets_by_level: dict[int, int] = current_app.config["MEDTRIAGE"].target_minutes()
    return targets_by_level


@bp.get("/")
@requires(*STAFF)
def board_page() -> Any:
    settings = current_app.config["MEDTRIAGE"]
    return render_template(
        "board.html",
        poll_ms=settings.board_poll_ms,
        highlight=request.args.get("highlight", ""),
        levels=list(Acuity),
    )


@bp.get("/api/v1/board")
@requires(*STAFF)
def api_board() -> Any:
    db = get_db()
    fingerprint = repr((board_version(db), sorted(targets().items())))
    etag = hashlib.sha256(fingerprint.encode()).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        db.rollback()
        response = current_app.response_class(status=304)
    else:
        rows = [board_row(case, targets()) for case in board_cases(db)]
        response = jsonify(
            rows=rows,
            counts=board_counts(db),
            targets={str(level): minutes for level, minutes in targets().items()},
        )
    response.set_etag(etag)
    # Private and always revalidated: the board changes and is for staff only.
    response.headers["Cache-Control"] = "private, no-cache"
    return response
