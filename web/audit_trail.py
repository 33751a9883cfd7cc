"""The audit trail for auditors: the chain's verdict, events filtered and paged, exports, and
where each request came from (API or form) for every event written while serving it."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from pydantic import ValidationError
from sqlalchemy import select

from shared import audit, audit_anchor
from shared.audit_key import AuditKeyError, audit_key
from shared.audit_origin import API, FORM, set_origin
from shared.audit_query import EventQuery, iter_events, search_events, to_csv, to_json
from shared.db import AuditEvent, Role
from web.auth import bearer_token, current_user, requires
from web.db import get_db
from web.forms import field_errors

bp = Blueprint("audit_trail", __name__, url_prefix="/audit")

AUDITORS = (Role.AUDITOR, Role.ADMIN)
FORMATS = {"csv": ("text/csv", to_csv), "json": ("application/json", to_json)}


@bp.before_app_request
def _origin() -> Any:
    """Every event this request writes says whether it came over the API or from a form;
    an auditor asking for the board (the site's front page) lands on the audit trail."""
    set_origin(API if request.path.startswith("/api/") or bearer_token() else FORM)
    if request.endpoint == "board.board_page":
        user = current_user()
        if user is not None and user.role == Role.AUDITOR:
            return redirect(url_for("audit_trail.events"))
    return None


@bp.teardown_app_request
def _forget_origin(_exc: BaseException | None) -> None:
    set_origin(None)


def _query() -> tuple[EventQuery, list[dict[str, str]]]:
    try:
        return EventQuery.model_validate(request.args.to_dict()), []
    except ValidationError as exc:
        return EventQuery(), field_errors(exc)


@bp.get("/")
@requires(*AUDITORS)
def events() -> Any:
    db = get_db()
    settings = current_app.config["MEDTRIAGE"]
    query, errors = _query()
    kept_text = request.args.get("head", "").strip()
    kept = audit_anchor.parse(kept_text, "the kept head") if kept_text else None
    if kept_text and kept is None:
        errors.append({"field": "head", "message": "paste the whole printed head line"})
    key_error = None
    try:
        audit.seal(db, audit_key(settings))  # link what is pending before the verdict
    except AuditKeyError as exc:
        key_error = str(exc)
    chain = audit.verify(db, settings, [kept] if kept else [])
    found = None if errors else search_events(db, query)
    actions = db.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    page = render_template(
        "audit.html",
        chain=chain,
        key_error=key_error,
        head=audit.printable_head(db).line(),
        kept=kept_text,
        query=query,
        filters=query.filters(),
        found=found,
        errors=errors,
        actions=actions,
    )
    db.rollback()
    return page, (422 if errors else 200)


@bp.get("/export.<fmt>")
@requires(*AUDITORS)
def export(fmt: str) -> Any:
    """The filtered view, every page of it; the export itself is an audit event."""
    if fmt not in FORMATS:
        return render_template("error.html", status=404, message="Export as csv or json."), 404
    query, errors = _query()
    if errors:
        message = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return render_template("error.html", status=422, message=message), 422
    db = get_db()
    user = current_user()
    assert user is not None
    audit.record(
        db, actor=user.username, action="audit.exported", detail={"format": fmt, **query.filters()}
    )
    db.commit()
    mimetype, write = FORMATS[fmt]
    body = stream_with_context(write(iter_events(db, query)))
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="audit-trail.{fmt}"',
            "Cache-Control": "no-store",
        },
    )
