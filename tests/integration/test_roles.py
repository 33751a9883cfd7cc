"""Every route, for every role and for anonymous: who gets in and who is turned away."""

from __future__ import annotations

import pytest

from shared.db import Role
from tests.conftest import case_body
from tests.support.cases import submit
from web.auth import ROUTE_ROLES

# endpoint -> roles allowed (None = public). A new route fails this test until it is listed.
EXPECTED = {
    "auth.login": None,
    "auth.logout": None,
    "auth.api_session": {"nurse", "clinician", "admin", "auditor"},
    "auth.password": {"nurse", "clinician", "admin", "auditor"},
    "health.healthz": None,
    # /metrics answers this machine (the test client is 127.0.0.1) or a metrics token.
    "health.readyz": None,
    "health.metrics": None,
    "system.system_page": {"admin"},
    "static": None,
    "board.board_page": {"nurse", "clinician", "admin"},
    "board.api_board": {"nurse", "clinician", "admin"},
    "intake.new_case": {"nurse", "clinician", "admin"},
    "intake.api_submit": {"nurse", "clinician", "admin"},
    "cases.case_page": {"nurse", "clinician", "admin", "auditor"},
    "cases.api_case": {"nurse", "clinician", "admin", "auditor"},
    "cases.api_cases": {"nurse", "clinician", "admin", "auditor"},
    "cases.search_page": {"nurse", "clinician", "admin", "auditor"},
    # The case lifecycle (issue 7): override only by a clinician; a nurse may dispose only
    # as "left without being seen", which the lifecycle service checks.
    "lifecycle.api_acknowledge": {"nurse", "clinician"},
    "lifecycle.form_acknowledge": {"nurse", "clinician"},
    "lifecycle.api_area": {"nurse", "clinician"},
    "lifecycle.form_area": {"nurse", "clinician"},
    "lifecycle.api_observation": {"nurse", "clinician"},
    "lifecycle.form_observation": {"nurse", "clinician"},
    "lifecycle.api_note": {"nurse", "clinician"},
    "lifecycle.form_note": {"nurse", "clinician"},
    "lifecycle.api_disposition": {"nurse", "clinician"},
    "lifecycle.form_disposition": {"nurse", "clinician"},
    "lifecycle.api_override": {"clinician"},
    "lifecycle.form_override": {"clinician"},
    # Site calibration (issue 13): the outcome after the disposition, by a clinician.
    "lifecycle.api_followup": {"clinician"},
    "lifecycle.form_followup": {"clinician"},
    "admin.users": {"admin"},
    "admin.create_user": {"admin"},
    "admin.create_token": {"admin"},
    "admin.revoke_token": {"admin"},
    "admin.set_active": {"admin"},
    "admin.reset_password": {"admin"},
    # Images (issue 10): every reader of a case page may see its images.
    "images.thumb": {"nurse", "clinician", "admin", "auditor"},
    "images.full": {"nurse", "clinician", "admin", "auditor"},
    "images.api_image": {"nurse", "clinician", "admin", "auditor"},
    "images.api_case_images": {"nurse", "clinician", "admin", "auditor"},
    # FHIR out and the described API (issue 11): every reader of a case.
    "fhir.api_case_fhir": {"nurse", "clinician", "admin", "auditor"},
    "openapi.api_document": {"nurse", "clinician", "admin", "auditor"},
    "openapi.reference_page": {"nurse", "clinician", "admin", "auditor"},
    "audit_trail.events": {"auditor", "admin"},
    "audit_trail.export": {"auditor", "admin"},
}

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_every_route_declares_its_roles(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(EXPECTED)
    for endpoint, roles in EXPECTED.items():
        if endpoint == "static":
            continue
        declared = ROUTE_ROLES[endpoint]
        assert (None if declared is None else {r.value for r in declared}) == roles, endpoint


def _requests(app, case_url):
    """One concrete request per rule and method."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        # No token or user has this id: an admin's request is answered without a change.
        path = (
            rule.rule.replace("<public_id>", case_url)
            .replace("<int:token_id>", "999999")
            .replace("<int:user_id>", "999999")
        )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


@pytest.mark.parametrize("who", ["anonymous", *[r.value for r in Role]])
def test_route_access_by_role(app, client, staff, auth, who):
    case_id = submit(client, staff["nurse"].token, case_body("low"))["id"]
    for endpoint, method, path in _requests(app, case_id):
        allowed = EXPECTED[endpoint]
        for channel in ("session", "token"):
            c = app.test_client()
            actions = type(auth)(c)
            headers = {}
            if who != "anonymous" and channel == "session":
                actions.login(staff[who].username)
            elif who != "anonymous":
                headers["Authorization"] = f"Bearer {staff[who].token}"
            form = None
            if method == "POST" and not path.startswith("/api/") and allowed is not None:
                # A valid CSRF token, so the role check, not the CSRF check, answers. The
                # forms are sent empty: an allowed role gets a validation error, no change.
                form = {"csrf_token": actions.csrf("/login")}
            response = c.open(
                path,
                method=method,
                headers=headers,
                json={} if "api" in path else None,
                data=form,
            )
            status = response.status_code
            what = f"{who} via {channel}: {method} {path} -> {status}"
            if allowed is None:
                assert status not in (401, 403), what
            elif method == "POST" and path.startswith("/api/") and channel == "session":
                assert status == 401, what  # cookies never authorize API writes
            elif who == "anonymous" or (channel == "token" and not path.startswith("/api/")):
                # An API token never drives a page or a form: it is no login there.
                if path.startswith("/api/"):
                    assert status == 401, what
                else:
                    assert status == 302 and "/login" in response.headers["Location"], what
            elif who == "auditor" and endpoint == "board.board_page":
                # The site's front page sends an auditor to the audit trail, not to a 403.
                assert status == 302 and response.headers["Location"] == "/audit/", what
            elif who not in allowed:
                assert status == 403, what
            else:
                assert status not in (400, 401, 403), what
