"""The described API: an OpenAPI 3.1 document built from the app's own routes and the
Pydantic models they validate with, at `/api/v1/openapi.json`, and a reference page for
staff at `/reference/api`. The paths come from `app.url_map`; what each route takes and
answers comes from `OPERATIONS` below, one entry per route and method (the case actions
from `shared.lifecycle.ACTIONS` itself). A route with no entry is marked undescribed, and
the tests fail on it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.lifecycle import ACTIONS
from shared.lifecycle_search import CaseQuery
from shared.schemas import CaseIn
from web.auth import READERS, requires
from web.openapi_models import (
    BoardOut,
    CaseAccepted,
    CaseList,
    CaseOut,
    ErrorOut,
    FhirBundle,
    ImageList,
    ImageOut,
    OpenApiDocument,
    SessionOut,
)

bp = Blueprint("openapi", __name__)

VERSION = "1"
STATUS_TEXT = {
    200: "OK",
    202: "Accepted: saved; the analysis follows",
    304: "Not modified (If-None-Match matched the ETag); no body",
    400: "The body or a query argument is not valid JSON or not acceptable",
    401: "Not logged in, or no valid token (unknown, revoked or expired)",
    403: "Role or token scope too small, or the user must change their password",
    404: "No such case or image",
    409: "The case is closed, or the Idempotency-Key was used for another request",
    413: "Body too large (2 MiB; images: MEDTRIAGE_IMAGE_MAX_BYTES)",
    415: "Not application/json (intake: or multipart with images)",
    422: "Not valid: `fields` names each field and what is wrong",
    503: "The database is not available; nothing was saved",
}
AUTH = (401, 403, 503)
WRITE = (400, 413, 415, 422)


@dataclass(frozen=True)
class Operation:
    """What one route and method takes and answers; `responses` maps a status to its model
    (None: no body, or the common ErrorOut for 4xx/5xx)."""

    summary: str
    responses: dict[int, type[BaseModel] | None]
    request: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    query_args: dict[str, dict[str, Any]] = field(default_factory=dict)
    example: dict[str, Any] | None = None
    media: str = "application/json"
    description: str = ""


def errors(*codes: int) -> dict[int, type[BaseModel] | None]:
    return dict.fromkeys(sorted({*codes, *AUTH}), ErrorOut)


CASE_EXAMPLE = {
    "patient_ref": "MRN-000123",
    "age_years": 67,
    "sex": "female",
    "chief_complaint": "shortness of breath",
    "note": "Breathless since this morning, speaking in short sentences.",
    "vitals": {
        "respiratory_rate": 26,
        "spo2": 91,
        "on_oxygen": False,
        "systolic_bp": 104,
        "diastolic_bp": 66,
        "heart_rate": 112,
        "consciousness": "A",
        "temperature_c": 38.2,
    },
}
ACTION_EXAMPLES: dict[str, dict[str, Any]] = {
    "acknowledge": {"assign_to": "me", "area": "majors"},
    "area": {"area": "resus"},
    "observations": {"vitals": {"heart_rate": 118, "spo2": 90}, "note": "more breathless"},
    "override": {"acuity": 2, "reason": "Looks worse than the numbers; silent chest."},
    "disposition": {"disposition": "admit"},
    "notes": {"text": "Family informed; chest X-ray requested."},
    "followup": {"outcome": "alive_at_30_days"},
}
BOARD_ARGS = {
    "area": {"type": "string", "description": "one of MEDTRIAGE_AREAS"},
    "level": {"type": "integer", "enum": [3, 4, 5], "description": "levels 1-2 always show"},
    "status": {"enum": ["waiting", "in_assessment", "retriage_due", "overdue"]},
    "mine": {"enum": ["1"], "description": "only cases assigned to me"},
    "limit": {"type": "integer", "minimum": 1, "description": "rows of levels 3-5"},
}


def _action_operations() -> dict[tuple[str, str], Operation]:
    """POST /api/v1/cases/<id>/<action>, one per case action, from the lifecycle's table."""
    out = {}
    for action, spec in ACTIONS.items():
        accepted = 202 if action == "observations" else 200
        out[(f"lifecycle.api_{action.rstrip('s')}", "POST")] = Operation(
            summary=f"Case action: {action}",
            description=(spec.schema.__doc__ or "").strip()
            + f" Roles: {', '.join(sorted(r.value for r in spec.roles))}; token scope submit."
            " An Idempotency-Key header makes a retry one action (Idempotent-Replayed: true).",
            request=spec.schema,
            example=ACTION_EXAMPLES.get(action),
            responses={accepted: CaseOut, **errors(*WRITE, 404, 409)},
        )
    return out


def operations() -> dict[tuple[str, str], Operation]:
    """(endpoint, method) -> Operation: the registry the document is built from."""
    return {
        ("auth.api_session", "GET"): Operation(
            "Who is logged in; renews the terminal's idle timeout", {200: SessionOut, **errors()}
        ),
        ("board.api_board", "GET"): Operation(
            "The board: open cases by acuity and waiting time",
            {200: BoardOut, 304: None, **errors(400)},
            query_args=BOARD_ARGS,
            description="Send If-None-Match with the last ETag: an unchanged board is a 304.",
        ),
        ("intake.api_submit", "POST"): Operation(
            "Submit a case",
            {202: CaseAccepted, **errors(*WRITE)},
            request=CaseIn,
            example=CASE_EXAMPLE,
            description="JSON, or multipart/form-data with a `case` part and image files. "
            "An Idempotency-Key header makes a retried request return the first case.",
        ),
        ("cases.api_cases", "GET"): Operation(
            "Find cases, newest arrival first", {200: CaseList, **errors(422)}, query=CaseQuery
        ),
        ("cases.api_case", "GET"): Operation(
            "A case, its latest result and its care", {200: CaseOut, **errors(404)}
        ),
        ("fhir.api_case_fhir", "GET"): Operation(
            "The case as a FHIR R4 Bundle",
            {200: FhirBundle, **errors(404)},
            media="application/fhir+json",
            description="Vital-sign Observations (LOINC, vital-signs profiles), the NEWS2 "
            "total (SNOMED CT 1104051000000101) and a RiskAssessment (preliminary until a "
            "clinician sets the level).",
        ),
        ("images.api_image", "GET"): Operation(
            "One image's tags, quality and analysis", {200: ImageOut, **errors(404)}
        ),
        ("images.api_case_images", "GET"): Operation(
            "A case's images", {200: ImageList, **errors(404)}
        ),
        ("openapi.api_document", "GET"): Operation(
            "This document", {200: OpenApiDocument, **errors()}
        ),
        **_action_operations(),
    }


_ARG = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")


def openapi_path(rule: str) -> str:
    """/api/v1/cases/<public_id> -> /api/v1/cases/{public_id}"""
    return _ARG.sub(lambda m: "{" + m["name"] + "}", rule)


def _path_parameters(rule: str) -> list[dict[str, Any]]:
    return [
        {
            "name": m["name"],
            "in": "path",
            "required": True,
            "schema": {"type": "integer"} if m["conv"] == "int" else {"type": "string"},
        }
        for m in _ARG.finditer(rule)
    ]


def _ref(model: type[BaseModel], mode: str, names: dict[Any, Any]) -> dict[str, Any]:
    found: dict[str, Any] = names[(model, mode)]
    return found


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every /api/ route of `app`."""
    registry = operations()
    models: set[tuple[type[BaseModel], str]] = {(ErrorOut, "serialization")}
    for op in registry.values():
        if op.request is not None:
            models.add((op.request, "validation"))
        if op.query is not None:
            models.add((op.query, "validation"))
        models |= {(m, "serialization") for m in op.responses.values() if m is not None}
    ordered = sorted(models, key=lambda pair: (pair[0].__name__, pair[1]))
    names, top = models_json_schema(
        ordered,  # type: ignore[arg-type]
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = top.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = registry.get((rule.endpoint, method))
            entry = _operation(rule.rule, rule.endpoint, method, op, names, schemas)
            paths.setdefault(openapi_path(rule.rule), {})[method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MedTriage API",
            "version": VERSION,
            "description": "Decision support only, never a diagnosis: a clinician decides. "
            "Send `Authorization: Bearer <token>`; a token's scope is read (GET), submit "
            "(GET and case submissions and actions) or admin.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "medtriage_session"},
            },
        },
    }


def _operation(
    rule: str,
    endpoint: str,
    method: str,
    op: Operation | None,
    names: dict[Any, Any],
    schemas: dict[str, Any],
) -> dict[str, Any]:
    write = method != "GET"
    entry: dict[str, Any] = {
        "operationId": endpoint,
        "parameters": _path_parameters(rule),
        # A login session reads; a change over the API needs a token.
        "security": [{"token": []}] if write else [{"token": []}, {"session": []}],
        "x-token-scope": "submit" if write else "read",
    }
    if op is None:
        entry.update(summary="Not described", responses={"default": {"description": "?"}})
        entry["x-undescribed"] = True
        return entry
    entry["summary"] = op.summary
    if op.description:
        entry["description"] = op.description
    if op.query is not None:
        props = schemas[op.query.__name__]["properties"]
        entry["parameters"] += [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in props.items()
        ]
    entry["parameters"] += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in op.query_args.items()
    ]
    if op.request is not None:
        content: dict[str, Any] = {"schema": _ref(op.request, "validation", names)}
        if op.example is not None:
            content["examples"] = {"example": {"value": op.example}}
        entry["requestBody"] = {"required": True, "content": {"application/json": content}}
    responses: dict[str, Any] = {}
    for status, model in sorted(op.responses.items()):
        answer: dict[str, Any] = {"description": STATUS_TEXT.get(status, str(status))}
        if model is not None:
            media = op.media if status < 300 else "application/json"
            answer["content"] = {media: {"schema": _ref(model, "serialization", names)}}
        responses[str(status)] = answer
    entry["responses"] = responses
    return entry


def document() -> dict[str, Any]:
    """Built once per app: the routes do not change while it runs."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if "openapi" not in app.extensions:
        app.extensions["openapi"] = build_document(app)
    found: dict[str, Any] = app.extensions["openapi"]
    return found


@bp.get("/api/v1/openapi.json")
@requires(*READERS)
def api_document() -> Any:
    return jsonify(document())


@bp.get("/reference/api")
@requires(*READERS)
def reference_page() -> Any:
    doc = document()
    return render_template("api_reference.html", doc=doc, status_text=STATUS_TEXT)


@bp.app_template_filter("schema_label")
def schema_label(schema: dict[str, Any] | None) -> str:
    """A schema in a few words for the reference page: `CaseIn`, `integer`, `array of X`."""
    if not schema:
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(schema_label(part) for part in schema[key])
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type", "any")
    if kind == "array":
        return "array of " + schema_label(schema.get("items"))
    if kind == "object" and "additionalProperties" in schema:
        inner = schema["additionalProperties"]
        return "object" if inner is True else "map of " + schema_label(inner)
    return str(kind)
