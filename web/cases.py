"""Reading cases: the case page, `GET /api/v1/cases/<id>`, and finding cases (a search page
and `GET /api/v1/cases`)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import select

from shared import audit
from shared.cases import case_to_dict, latest_result
from shared.db import Case
from shared.db.models import Disposition
from shared.lifecycle import ACTIONS, clinicians, may
from shared.lifecycle_search import CaseQuery, search_cases
from shared.lifecycle_view import care_view
from shared.schemas import Acuity
from web.auth import READERS, current_user, requires
from web.board import targets
from web.db import get_db
from web.forms import field_errors

bp = Blueprint("cases", __name__)


def case_dict(case: Case) -> dict[str, Any]:
    db = get_db()
    out = case_to_dict(case, latest_result(db, case), targets())
    out["care"] = care_view(db, case, targets())
    return out


def api_body(case: Case) -> dict[str, Any]:
    return case_dict(case)


def load(public_id: str) -> dict[str, Any]:
    case = get_db().scalar(select(Case).where(Case.public_id == public_id))
    if case is None:
        abort(404, "No case with this id.")
    return case_dict(case)


def record_read(public_id: str) -> None:
    """Who saw which patient: an audit event per read of a case (page or API; the board's
    polling is not one). Its own small commit, after the case was found."""
    db = get_db()
    user = current_user()
    case_id = db.scalar(select(Case.id).where(Case.public_id == public_id))
    if user is not None and case_id is not None:
        audit.record(db, actor=user.username, action="case.viewed", case_id=case_id)
        db.commit()


def record_list(items: list[dict[str, Any]]) -> None:
    """A search shows several patients: one event naming the cases it listed."""
    user = current_user()
    if user is not None and items:
        db = get_db()
        shown = [item["id"] for item in items]
        audit.record(db, actor=user.username, action="cases.listed", detail={"cases": shown})
        db.commit()


@bp.get("/api/v1/cases/<public_id>")
@requires(*READERS)
def api_case(public_id: str) -> Any:
    body = load(public_id)
    record_read(public_id)
    return jsonify(body)


def render_case(public_id: str, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    """The case page; a refused action comes back with its message beside its form."""
    db = get_db()
    case = load(public_id)
    user = current_user()
    settings = current_app.config["MEDTRIAGE"]
    page = render_template(
        "case.html",
        case=case,
        care=case["care"],
        errors=errors or {},
        form_token=uuid.uuid4().hex,
        can={action: user is not None and may(user, action) for action in ACTIONS},
        areas=settings.area_list(),
        clinicians=clinicians(db),
        levels=list(Acuity),
        dispositions=list(Disposition),
        timezone=settings.timezone,
    )
    db.rollback()
    return page, status


@bp.get("/cases/<public_id>")
@requires(*READERS)
def case_page(public_id: str) -> Any:
    page = render_case(public_id)
    record_read(public_id)
    return page


def _query(args: dict[str, Any]) -> CaseQuery:
    return CaseQuery.model_validate(args)


@bp.get("/api/v1/cases")
@requires(*READERS)
def api_cases() -> Any:
    try:
        query = _query(request.args.to_dict())
    except ValidationError as exc:
        return jsonify(error="The query is not valid.", status=422, fields=field_errors(exc)), 422
    body = search_cases(get_db(), query, current_app.config["MEDTRIAGE"].timezone)
    record_list(body["items"])
    for item in body["items"]:
        item["url"] = url_for("cases.api_case", public_id=item["id"])
    if query.page < body["pages"]:
        args = {**request.args.to_dict(), "page": query.page + 1}
        body["next"] = url_for("cases.api_cases", **args)
    return jsonify(body)


@bp.get("/cases/search")
@requires(*READERS)
def search_page() -> Any:
    args = request.args.to_dict()
    if not args:
        args = {"status": "disposed"}  # the closed cases, newest first
    errors: list[dict[str, str]] = []
    try:
        query = _query(args)
        found = search_cases(get_db(), query, current_app.config["MEDTRIAGE"].timezone)
        record_list(found["items"])
    except ValidationError as exc:
        errors, query, found = field_errors(exc), CaseQuery(), None
    return render_template(
        "search.html",
        args=args,
        errors=errors,
        found=found,
        query=query,
        levels=list(Acuity),
        dispositions=list(Disposition),
    ), (422 if errors else 200)
