"""The audit trail for auditors: recent events and a check of the hash chain."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import select

from shared.audit import seal, verify_chain
from shared.db import AuditEvent, Role
from web.auth import requires
from web.db import get_db

bp = Blueprint("audit_trail", __name__, url_prefix="/audit")


@bp.get("/")
@requires(Role.AUDITOR, Role.ADMIN)
def events() -> Any:
    db = get_db()
    seal(db)  # link anything still pending before the auditor reads the verdict
    recent = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(200)).all()
    return render_template("audit.html", events=recent, chain=verify_chain(db))
