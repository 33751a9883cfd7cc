"""Case actions over the API and from the case page: acknowledge, area, re-triage, override,
disposition, notes. The rules live in shared.lifecycle; this only speaks HTTP."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    url_for,
)
from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from shared.cases import form_idempotency_key
from shared.db import Role
from shared.lifecycle import ACTIONS, LifecycleError, Outcome, act
from shared.lifecycle_view import field_label, local_time
from shared.queue import Dispatcher
from web import csrf
from web.auth import current_user, requires
from web.cases import api_body, render_case
from web.db import get_db
from web.errors import error_response, parse_strict_json
from web.forms import field_errors

bp = Blueprint("lifecycle", __name__)

MAX_KEY = 128
CARE = (Role.NURSE, Role.CLINICIAN)
DONE_MESSAGES = {
    "acknowledge": "Case acknowledged.",
    "area": "Area changed.",
    "observations": "Re-triage recorded: provisional {level}; analysis follows.",
    "override": "Acuity set to {level}.",
    "disposition": "Case closed: {disposition}.",
    "notes": "Note added.",
    "followup": "Follow-up outcome recorded.",
}


VITALS = (
    "respiratory_rate", "spo2", "systolic_bp", "diastolic_bp", "heart_rate", "temperature_c",
    "pain", "consciousness",
)  # fmt: skip
LABELS = {
    "respiratory_rate": "Respiratory rate",
    "spo2": "SpO2",
    "systolic_bp": "Systolic BP",
    "diastolic_bp": "Diastolic BP",
    "heart_rate": "Heart rate",
    "temperature_c": "Temperature",
    "pain": "Pain",
    "consciousness": "Consciousness",
    "on_oxygen": "Oxygen",
    "vitals": "Vital signs",
    "note": "Note",
    "acuity": "Level",
    "reason": "Reason",
    "disposition": "Disposition",
    "text": "Note",
    "area": "Area",
    "assign_to": "Assign to",
    "level_of_care": "Level of care",
    "outcome": "Outcome",
}


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def form_data(action: str, form: MultiDict[str, str]) -> dict[str, Any]:
    """The case page's form fields as the action's JSON body."""
    if action == "acknowledge":
        return {"assign_to": form.get("assign_to") or "me", "area": _blank(form.get("area"))}
    if action == "area":
        return {"area": form.get("area", "")}
    if action == "observations":
        vitals: dict[str, Any] = {name: _blank(form.get(name)) for name in VITALS}
        vitals["spo2_scale2"] = form.get("spo2_scale2") == "on"
        vitals["on_oxygen"] = {"oxygen": True, "air": False}.get(form.get("on_oxygen", ""))
        return {"vitals": vitals, "note": form.get("note", "")}
    if action == "override":
        level = form.get("acuity", "")
        return {"acuity": None if level == "withdraw" else level, "reason": form.get("reason", "")}
    if action == "disposition":
        return {
            "disposition": form.get("disposition", ""),
            "level_of_care": _blank(form.get("level_of_care")),
        }
    if action == "followup":
        return {"outcome": form.get("outcome", "")}
    return {"text": form.get("text", "")}


def form_message(exc: ValidationError) -> str:
    """'Heart rate: must be at most 300' rather than Pydantic's wording and paths."""
    parts = []
    for err in exc.errors():
        name = str(err["loc"][-1]) if err["loc"] else "form"
        message = str(err["msg"]).removeprefix("Value error, ")
        message = message.replace("Input should be", "must be")
        parts.append(f"{LABELS.get(name, name)}: {message}")
    return "; ".join(parts)


def areas() -> list[str]:
    names: list[str] = current_app.config["MEDTRIAGE"].area_list()
    return names


def _dispatch(outcome: Outcome) -> str | None:
    """A re-triage goes to the queue after the commit; 'pending': the reconciler sends it."""
    if not outcome.dispatch:
        return None
    dispatcher: Dispatcher = current_app.extensions["dispatcher"]
    case = outcome.case
    return "sent" if dispatcher.send(case.id, case.acuity) else "pending"


def _perform(public_id: str, action: str, parsed: BaseModel, key: str | None) -> Outcome:
    user = current_user()
    assert user is not None
    return act(get_db(), user, public_id, action, parsed, areas=areas(), key=key)


def _api(public_id: str, action: str) -> Any:
    if request.content_length and not request.is_json:
        raise UnsupportedMediaType("Send the request as JSON (Content-Type: application/json).")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= MAX_KEY and key.isprintable()):
        raise BadRequest(f"Idempotency-Key must be 1-{MAX_KEY} printable characters.")
    try:
        # Strict JSON, as at intake: true is not a level, "140" is not a heart rate.
        raw = request.get_data() if request.content_length else b"{}"
        parsed = parse_strict_json(ACTIONS[action].schema, raw)
    except ValidationError as exc:
        return jsonify(error="The request is not valid.", status=422, fields=field_errors(exc)), 422
    try:
        outcome = _perform(public_id, action, parsed, key)
    except ValidationError as exc:
        return jsonify(error="The request is not valid.", status=422, fields=field_errors(exc)), 422
    except LifecycleError as exc:
        fields = [{"field": exc.field, "message": exc.message}] if exc.field else []
        return error_response(exc.status, exc.message, fields=fields)
    dispatch = _dispatch(outcome)
    body = api_body(outcome.case)
    if dispatch is not None:
        body["dispatch"] = dispatch
    response = jsonify(body)
    response.status_code = 202 if action == "observations" else 200
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _form(public_id: str, action: str) -> Any:
    token = request.form.get("form_token", "")
    if not 0 < len(token) <= MAX_KEY:
        return render_case(public_id, {action: "The form expired; submit it again."}, 422)
    try:
        parsed = ACTIONS[action].schema.model_validate(form_data(action, request.form))
        outcome = _perform(public_id, action, parsed, form_idempotency_key(token))
    except ValidationError as exc:
        return render_case(public_id, {action: form_message(exc)}, 422)
    except LifecycleError as exc:
        return render_case(public_id, {action: exc.message}, exc.status)
    _dispatch(outcome)
    case = outcome.case
    if outcome.replayed:
        flash("This form was already submitted; nothing was done twice.")
    else:
        flash(
            DONE_MESSAGES[action].format(
                level=case.acuity.label,
                disposition=case.disposition.label if case.disposition else "",
            )
        )
    return redirect(url_for("cases.case_page", public_id=case.public_id), code=303)


def _routes(action: str, roles: tuple[Role, ...]) -> None:
    """POST /api/v1/cases/<id>/<action> (token) and POST /cases/<id>/<action> (form)."""

    def api_view(public_id: str) -> Any:
        return _api(public_id, action)

    def form_view(public_id: str) -> Any:
        return _form(public_id, action)

    name = action.rstrip("s")
    api_view.__name__, form_view.__name__ = f"api_{name}", f"form_{name}"
    bp.post(f"/api/v1/cases/<public_id>/{action}")(csrf.exempt(requires(*roles)(api_view)))
    bp.post(f"/cases/<public_id>/{action}")(requires(*roles)(form_view))


for _action in ACTIONS:
    _routes(_action, tuple(r for r in CARE if r in ACTIONS[_action].roles))


def init_app(app: Flask) -> None:
    zone = app.config["MEDTRIAGE"].timezone
    app.add_template_filter(lambda value: local_time(value, zone), "localtime")
    app.add_template_filter(field_label, "field_label")
