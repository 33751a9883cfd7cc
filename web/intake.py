"""Intake: the nurse's form and `POST /api/v1/cases`."""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from pydantic import ValidationError
from werkzeug.exceptions import BadRequest

from shared.cases import (
    IdempotencyConflict,
    api_idempotency_key,
    create_case,
    form_idempotency_key,
)
from shared.db import Case, CaseStatus
from shared.imaging.errors import ImageRejected
from shared.queue import QUEUE_ERRORS, Dispatcher
from shared.schemas import Acuity, CaseIn
from web import csrf
from web.auth import STAFF, current_user, requires
from web.db import get_db
from web.errors import parse_strict_json
from web.forms import PLAUSIBLE, c_to_f, case_from_form, field_errors, limits
from web.images import attach_images, case_body, form_uploads, prepare_uploads

bp = Blueprint("intake", __name__)

MAX_KEY = 128
SUBMITTED_WITH_OTHER_VALUES = (
    "This form was already submitted, with other values; nothing was saved now. To correct "
    "that case, open it from the board and record new observations or a note. If this is "
    "another patient, submit the form again."
)


def dispatch(case: Case, created: bool) -> str:
    """Send the task after the commit; 'pending' means the reconciler will send it."""
    dispatcher: Dispatcher = current_app.extensions["dispatcher"]
    if created:
        return "sent" if dispatcher.send(case.id, case.acuity) else "pending"
    # A replay: report what happened to the first submission.
    if case.status != CaseStatus.QUEUED:
        return "sent"
    try:
        return "sent" if dispatcher.has_marker(case.id) else "pending"
    except QUEUE_ERRORS:
        return "pending"


def accepted_body(case: Case, dispatch_state: str) -> dict[str, Any]:
    return {
        "id": case.public_id,
        "status": case.status.value,
        "provisional_acuity": int(case.provisional_acuity),
        "provisional_risk": case.provisional_risk.value,
        "vitals_documented": case.vitals_documented,
        "dispatch": dispatch_state,
        "url": url_for("cases.api_case", public_id=case.public_id),
    }


@bp.post("/api/v1/cases")
@csrf.exempt
@requires(*STAFF)
def api_submit() -> Any:
    body, uploads = case_body()  # JSON (images in base64), or multipart with image files
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= MAX_KEY and key.isprintable()):
        raise BadRequest(f"Idempotency-Key must be 1-{MAX_KEY} printable characters.")
    try:
        case_in = parse_strict_json(CaseIn, body)
    except ValidationError as exc:
        return jsonify(error="The case is not valid.", status=422, fields=field_errors(exc)), 422
    prepared = prepare_uploads(uploads)  # a refused image: 413/415/422, nothing written
    user = current_user()
    assert user is not None
    try:
        case, created = create_case(
            get_db(), user, case_in, api_idempotency_key(key) if key is not None else None,
            images=[p.sha256 for p in prepared],
        )  # fmt: skip
    except IdempotencyConflict as exc:
        first = url_for("cases.api_case", public_id=exc.first.public_id)
        return jsonify(error=exc.message, status=422, field="Idempotency-Key", case=first), 422
    attach_images(case, created, prepared)
    response = jsonify(accepted_body(case, dispatch(case, created)))
    response.status_code = 202
    response.headers["Location"] = url_for("cases.api_case", public_id=case.public_id)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


# Form fields in page order: the first one with an error gets the focus.
FORM_ORDER = (
    "patient_ref", "age_years", "sex", "pregnant", "chief_complaint", "note",
    "respiratory_rate", "spo2", "blood_pressure", "systolic_bp", "diastolic_bp", "heart_rate",
    "temperature", "consciousness", "on_oxygen", "spo2_scale2", "pain", "images",
)  # fmt: skip


def intake_page(form: Any, errors: dict[str, str], token: str) -> str:
    first_error = next((name for name in FORM_ORDER if name in errors), None)
    return render_template(
        "intake.html",
        form=form,
        errors=errors,
        first_error=first_error,
        form_token=token,
        limits=limits(),
        plausible=PLAUSIBLE,
        c_to_f=c_to_f,
    )


@bp.route("/cases/new", methods=["GET", "POST"])
@requires(*STAFF)
def new_case() -> Any:
    if request.method == "GET":
        return intake_page({}, {}, uuid.uuid4().hex)
    form = request.form
    token = form.get("form_token", "")
    case_in, errors = case_from_form(form)
    if case_in is None or not (0 < len(token) <= MAX_KEY):
        if not token:
            errors["form"] = "The form expired; submit it again."
        return intake_page(form, errors, token or uuid.uuid4().hex), 422
    try:
        prepared = prepare_uploads(form_uploads())
    except ImageRejected as exc:
        return intake_page(form, {"images": exc.message}, token), exc.status
    user = current_user()
    assert user is not None
    try:
        case, created = create_case(
            get_db(), user, case_in, form_idempotency_key(token),
            images=[p.sha256 for p in prepared],
        )  # fmt: skip
    except IdempotencyConflict:
        # Back, edit, submit again: the first case stands. Saying so, and offering a new
        # form token, lets the nurse choose; a correction belongs on the first case's page.
        errors["form"] = SUBMITTED_WITH_OTHER_VALUES
        return intake_page(form, errors, uuid.uuid4().hex), 422
    attach_images(case, created, prepared)
    state = dispatch(case, created)
    acuity = Acuity(case.provisional_acuity)
    message = (
        f"Case submitted: provisional risk {case.provisional_risk.value.upper()}, "
        f"acuity {acuity.label}."
    )
    if not case.vitals_documented:
        message += " Vital signs not documented: measure them."
    if not created:
        message = "This form was already submitted; showing the first submission."
    if state == "pending":
        message += " The queue is unreachable; analysis will start when it is back."
    flash(message)
    if form.get("then") == "next":
        return redirect(url_for("intake.new_case"))
    return redirect(url_for("board.board_page", highlight=case.public_id))
