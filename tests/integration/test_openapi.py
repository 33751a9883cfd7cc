"""The described API: the OpenAPI 3.1 document served by the app is valid, names every /api/
route and method of `app.url_map`, documents every status real requests get, describes their
JSON bodies truthfully, and its example requests are accepted by the models and the API."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from sqlalchemy import select

from shared import accounts
from shared.db import User
from shared.db.models import TokenScope
from tests.conftest import case_body
from web.errors import parse_strict_json
from web.openapi import openapi_path, operations

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
UNKNOWN = "00000000-0000-0000-0000-000000000000"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def doc(client, staff):
    response = client.get("/api/v1/openapi.json", headers=bearer(staff["auditor"].token))
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def read_token(staff, sessions):
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == staff["nurse"].username))
        return accounts.create_token(session, user, "reader", scope=TokenScope.READ)


def test_the_document_is_valid_openapi_3_1(doc):
    validate(doc)  # raises on any violation of the 3.1 schema
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["schemas"]["CaseIn"]["properties"]["vitals"]


def test_every_api_route_and_method_is_described(app, doc):
    served = {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    described = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served == described
    undescribed = [
        op["operationId"] for ops in doc["paths"].values() for op in ops.values()
        if op.get("x-undescribed")
    ]  # fmt: skip
    assert undescribed == [], "add these to web.openapi.operations()"
    # The case actions come from the lifecycle's own table, with its input models.
    acknowledge = doc["paths"]["/api/v1/cases/{public_id}/acknowledge"]["post"]
    body = acknowledge["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AcknowledgeIn"}


def test_example_requests_validate_and_the_api_accepts_them(client, doc, staff):
    registry = {op_key[0]: op for op_key, op in operations().items()}
    examples = 0
    for ops in doc["paths"].values():
        for op in ops.values():
            if "requestBody" not in op:
                continue
            content = op["requestBody"]["content"]["application/json"]
            assert "examples" in content, f"{op['operationId']} has no example request"
            example = content["examples"]["example"]["value"]
            # Strict JSON, as the API parses it: the example is a request it takes.
            parse_strict_json(registry[op["operationId"]].request, json.dumps(example).encode())
            examples += 1
    assert examples >= 8
    intake = doc["paths"]["/api/v1/cases"]["post"]["requestBody"]["content"]
    response = client.post(
        "/api/v1/cases",
        json=intake["application/json"]["examples"]["example"]["value"],
        headers=bearer(staff["nurse"].token),
    )
    assert response.status_code == 202


def observe(client, staff, read_token):
    """Real requests to every /api/ route: (path template, method) -> [(status, response)]."""
    seen = defaultdict(list)
    nurse, clinician = bearer(staff["nurse"].token), bearer(staff["clinician"].token)

    def hit(template, method, path=None, **kwargs):
        response = client.open(path or template, method=method.upper(), **kwargs)
        seen[(template, method)].append(response)
        return response

    case = hit("/api/v1/cases", "post", json=case_body("medium"), headers=nurse).get_json()["id"]
    hit("/api/v1/cases", "post", json={"age_years": 40}, headers=nurse)  # 422
    hit("/api/v1/cases", "post", data="{", headers=nurse, content_type="application/json")
    hit("/api/v1/cases", "post", data="x", headers=nurse, content_type="text/plain")
    hit("/api/v1/cases", "post", json=case_body("low"), headers=bearer(read_token))  # 403
    hit("/api/v1/cases", "post", json=case_body("low"))  # 401
    big = b'{"note": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    hit("/api/v1/cases", "post", data=big, headers=nurse, content_type="application/json")

    hit("/api/v1/cases", "get", headers=nurse)
    hit("/api/v1/cases", "get", "/api/v1/cases?level=9", headers=nurse)
    hit("/api/v1/session", "get", headers=nurse)
    hit("/api/v1/session", "get")
    board = hit("/api/v1/board", "get", headers=nurse)
    hit("/api/v1/board", "get", headers={**nurse, "If-None-Match": board.headers["ETag"]})
    hit("/api/v1/board", "get", "/api/v1/board?level=9", headers=nurse)
    hit("/api/v1/board", "get", headers=bearer(staff["auditor"].token))  # 403
    one = "/api/v1/cases/{public_id}"
    hit(one, "get", f"/api/v1/cases/{case}", headers=nurse)
    hit(one, "get", f"/api/v1/cases/{UNKNOWN}", headers=nurse)
    for leaf in ("fhir", "images"):
        hit(f"{one}/{leaf}", "get", f"/api/v1/cases/{case}/{leaf}", headers=nurse)
        hit(f"{one}/{leaf}", "get", f"/api/v1/cases/{UNKNOWN}/{leaf}", headers=nurse)
    hit("/api/v1/images/{public_id}", "get", f"/api/v1/images/{UNKNOWN}", headers=nurse)
    hit("/api/v1/openapi.json", "get", headers=bearer(read_token))

    def act(action, body, headers, target=case, **kwargs):
        path = f"/api/v1/cases/{target}/{action}"
        return hit(f"{one}/{action}", "post", path, json=body, headers=headers, **kwargs)

    act("acknowledge", {"assign_to": "me"}, clinician)
    act("acknowledge", {"assign_to": "me"}, clinician, target=UNKNOWN)  # 404
    act("area", {"area": "resus"}, clinician)
    act("area", {"area": 7}, clinician)  # 422
    act("observations", {"vitals": {"heart_rate": 120}}, clinician)  # 202
    act("notes", {"text": "Seen."}, clinician)
    act("notes", None, clinician, data="{", content_type="application/json")  # 400
    act("override", {"acuity": 2, "reason": "Looks unwell."}, nurse)  # 403: clinicians only
    act("override", {"acuity": 2, "reason": "Looks unwell."}, clinician)
    act("followup", {"outcome": "alive_at_30_days"}, clinician)  # 409: not disposed yet
    act("disposition", {"disposition": "admit"}, clinician)
    act("disposition", {"disposition": "admit"}, clinician)  # 409: closed
    act("followup", {"outcome": "alive_at_30_days"}, clinician)
    return seen


def test_every_status_a_route_answers_is_documented_with_its_body(client, doc, staff, read_token):
    seen = observe(client, staff, read_token)
    statuses = set()
    for (template, method), responses in seen.items():
        documented = doc["paths"][template][method]["responses"]
        for response in responses:
            status = str(response.status_code)
            statuses.add(response.status_code)
            assert status in documented, f"{method.upper()} {template} answered {status}"
            content = documented[status].get("content")
            if content is None:
                assert not response.data, f"{method.upper()} {template} {status} has a body"
                continue
            ((media, spec),) = content.items()
            assert response.mimetype == media
            schema = {**spec["schema"], "components": doc["components"]}
            errors = list(OAS31Validator(schema).iter_errors(json.loads(response.data)))
            assert not errors, (
                f"{method.upper()} {template} {status}: {errors[0].json_path}: {errors[0].message}"
            )
    # The walk saw success and refusal alike.
    assert {200, 202, 304, 400, 401, 403, 404, 409, 413, 415, 422} <= statuses


def test_staff_read_the_reference_page_and_anonymous_users_log_in(client, auth, staff):
    assert client.get("/reference/api").status_code == 302
    auth.login(staff["auditor"].username)
    page = client.get("/reference/api")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<code>POST /api/v1/cases</code>" in text
    assert "<code>GET /api/v1/cases/{public_id}/fhir</code>" in text
    assert 'id="schema-CaseIn"' in text and "<code>chief_complaint</code>" in text
    # Offline clinic: nothing loaded from elsewhere.
    assert 'src="http' not in text and 'href="http' not in text
