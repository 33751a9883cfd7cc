"""`GET /api/v1/cases/<id>/fhir`: the case as a FHIR R4 Bundle (shared.interop.fhir)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app
from sqlalchemy import select

from shared import audit
from shared.db import Case
from web.auth import READERS, current_user, requires
from web.db import get_db

bp = Blueprint("fhir", __name__)

FHIR_JSON = "application/fhir+json"


@bp.get("/api/v1/cases/<public_id>/fhir")
@requires(*READERS)
def api_case_fhir(public_id: str) -> Any:
    from shared.interop.fhir import case_bundle, to_json  # fhir.resources only when asked

    db = get_db()
    case = db.scalar(select(Case).where(Case.public_id == public_id))
    if case is None:
        abort(404, "No case with this id.")
    body = to_json(case_bundle(db, case, current_app.config["MEDTRIAGE"]))
    user = current_user()
    assert user is not None
    # A read of the patient's record, like the case page: who, which case, in what form.
    audit.record(
        db, actor=user.username, action="case.viewed", case_id=case.id, detail={"format": "fhir"}
    )
    db.commit()
    return Response(body, mimetype=FHIR_JSON)
