"""Reading a case: the case page and `GET /api/v1/cases/<id>`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, render_template
from sqlalchemy import select

from shared.cases import case_to_dict, latest_result
from shared.db import Case
from web.auth import READERS, requires
from web.board import targets
from web.db import get_db

bp = Blueprint("cases", __name__)


def load(public_id: str) -> dict[str, Any]:
    db = get_db()
    case = db.scalar(select(Case).where(Case.public_id == public_id))
    if case is None:
        abort(404, "No case with this id.")
    return case_to_dict(case, latest_result(db, case), targets())


@bp.get("/api/v1/cases/<public_id>")
@requires(*READERS)
def api_case(public_id: str) -> Any:
    return jsonify(load(public_id))


@bp.get("/cases/<public_id>")
@requires(*READERS)
def case_page(public_id: str) -> Any:
    return render_template("case.html", case=load(public_id))
