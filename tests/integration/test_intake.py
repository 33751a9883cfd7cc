"""Intake over the API and the form: validation, idempotency, escaping, CSRF."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from shared.audit import verify_chain
from shared.db import AuditEvent, Case
from tests.conftest import case_body
from tests.support.cases import statuses, submit
from tests.support.faults import case_event_fails


def post(client, token, **kwargs):
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return client.post("/api/v1/cases", headers=headers, **kwargs)


def case_count(sessions):
    with sessions() as session:
        return session.scalar(select(func.count(Case.id)))


def test_case_row_risk_and_audit_event_written_together(client, staff, sessions):
    body = submit(client, staff["nurse"].token, case_body("high"))
    assert body["status"] == "queued" and body["provisional_risk"] == "high"
    with sessions() as session:
        case = session.scalar(select(Case))
        event = session.scalar(select(AuditEvent).where(AuditEvent.case_id == case.id))
        assert event.action == "case.submitted" and event.actor == "nurse1"
        assert "news2" in [r["rule"] for r in case.provisional_reasons]
        assert verify_chain(session).ok


def test_case_row_is_gone_when_its_audit_event_cannot_be_written(
    client, staff, sessions, engines, settings, redis_server
):
    # The case row is inserted first; failing the event after it shows the two are one write.
    with case_event_fails(engines[settings.database_url], "refuse"):
        response = post(client, staff["nurse"].token, json=case_body("high"))
    assert response.status_code == 500
    assert "nothing was changed" in response.get_json()["error"]
    assert case_count(sessions) == 0
    with sessions() as session:
        assert session.scalar(select(func.count(AuditEvent.case_id))) == 0
    assert redis_server.client().dbsize() == 0  # nothing sent for a case that does not exist


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({}, 422, "age_years"),
        (case_body(age_years=-1), 422, "age_years"),
        (case_body(chief_complaint="   "), 422, "chief_complaint"),
        (case_body(vitals={"heart_rate": 900}), 422, "vitals.heart_rate"),
        (case_body(vitals={"spo2": 101}), 422, "vitals.spo2"),
        (case_body(vitals={"systolic_bp": 80, "diastolic_bp": 120}), 422, "vitals.diastolic_bp"),
        (case_body(vitals={"consciousness": "X"}), 422, "vitals.consciousness"),
        (case_body(note="x" * 20_001), 422, "note"),
        (case_body(note="bad\x00byte"), 422, "note"),
        (case_body(unknown_field=1), 422, "unknown_field"),
    ],
)
def test_invalid_case_is_rejected_with_field_and_nothing_saved(
    client, staff, sessions, payload, status, field
):
    response = post(client, staff["nurse"].token, json=payload)
    assert response.status_code == status
    assert field in [f["field"] for f in response.get_json()["fields"]]
    assert case_count(sessions) == 0


def test_malformed_bodies_get_clear_errors(client, staff, sessions):
    token = staff["nurse"].token
    assert post(client, token, data="age=3").status_code == 415
    junk = post(
        client, token, data=b"\xff\xfe\x00junk", headers={"Content-Type": "application/json"}
    )
    assert junk.status_code == 400 and "JSON" in junk.get_json()["error"]
    array = post(client, token, json=[1, 2])
    assert array.status_code == 400
    huge = post(
        client,
        token,
        data=b"{" + b" " * (3 * 1024 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    bad_key = post(client, token, json=case_body(), headers={"Idempotency-Key": "k" * 300})
    assert bad_key.status_code == 400
    assert case_count(sessions) == 0


def test_idempotency_key_makes_a_double_submit_one_case(client, staff, sessions):
    token = staff["nurse"].token
    first = post(client, token, json=case_body(), headers={"Idempotency-Key": "abc-1"})
    second = post(client, token, json=case_body(), headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == second.status_code == 202
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert case_count(sessions) == 1


def test_concurrent_double_submit_is_one_case(app, staff, sessions):
    token = staff["nurse"].token
    answers = []

    def send():
        answers.append(
            post(app.test_client(), token, json=case_body(), headers={"Idempotency-Key": "race"})
        )

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {a.status_code for a in answers} == {202}
    assert len({a.get_json()["id"] for a in answers}) == 1
    assert case_count(sessions) == 1


def test_form_submit_twice_is_one_case_and_html_is_escaped(client, staff, auth, sessions):
    auth.login(staff["nurse"].username)
    page = client.get("/cases/new").get_data(as_text=True)
    data = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "form_token": re.search(r'name="form_token" value="([^"]+)"', page).group(1),
        "age_years": "71",
        "sex": "male",
        "chief_complaint": "<script>alert(1)</script>",
        "note": "<img src=x onerror=alert(2)>",
        "respiratory_rate": "26",
        "spo2": "90",
        "on_oxygen": "air",
        "systolic_bp": "100",
        "heart_rate": "120",
        "consciousness": "A",
        "temperature": "101.3",
        "temperature_unit": "F",
    }
    first = client.post("/cases/new", data=data, follow_redirects=True)
    assert "provisional risk HIGH" in first.get_data(as_text=True)
    again = client.post("/cases/new", data=data, follow_redirects=True)
    assert "already submitted" in again.get_data(as_text=True)
    (public_id,) = statuses(sessions)
    html = client.get(f"/cases/{public_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html
    with sessions() as session:
        assert session.scalar(select(Case.vitals))["temperature_c"] == 38.5


def test_form_errors_are_shown_next_to_fields(client, staff, auth, sessions):
    auth.login(staff["nurse"].username)
    page = client.get("/cases/new").get_data(as_text=True)
    data = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "form_token": "t1",
        "age_years": "abc",
        "chief_complaint": "",
        "heart_rate": "12000",
        "temperature": "warm",
    }
    response = client.post("/cases/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("age_years", "chief_complaint", "heart_rate", "temperature"):
        assert f'id="err-{field}"' in html
    assert "Nothing was saved" in html
    assert case_count(sessions) == 0


def test_form_without_csrf_token_is_refused(client, staff, auth, sessions):
    auth.login(staff["nurse"].username)
    response = client.post(
        "/cases/new", data={"form_token": "x", "age_years": "30", "chief_complaint": "c"}
    )
    assert response.status_code == 400
    assert case_count(sessions) == 0


def test_session_cookie_flags(client, staff):
    from tests.conftest import AuthActions

    response = AuthActions(client).login(staff["nurse"].username)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_is_refused(client, staff, auth):
    response = auth.login(staff["nurse"].username, "wrong-password!")
    assert response.status_code == 401
    assert "wrong password" in response.get_data(as_text=True)


def test_red_flag_in_the_note_raises_provisional_risk_and_is_highlighted(client, staff, auth):
    note = "<b>58M</b> c/o crushing chest pain radiating to L arm. Denies SOB."
    body = submit(client, staff["nurse"].token, case_body("low", note=note))
    assert body["provisional_risk"] == "high"
    board = client.get("/api/v1/board", headers={"Authorization": f"Bearer {staff['nurse'].token}"})
    assert board.get_json()["rows"][0]["risk_level"] == "high"
    auth.login(staff["clinician"].username)
    html = client.get(f"/cases/{body['id']}").get_data(as_text=True)
    # The evidence is marked; the reason (its rule and words) is the mark's title.
    assert re.search(
        r'<mark title="[^"]*(?:chest pain|Chest pain)[^"]*">crushing(?: chest pain)?</mark>', html
    )
    assert "&lt;b&gt;58M&lt;/b&gt;" in html and "<b>58M</b>" not in html


def test_negated_red_flag_does_not_raise_the_risk(client, staff):
    body = submit(client, staff["nurse"].token, case_body("low", note="Denies chest pain or SI."))
    assert body["provisional_risk"] == "low"


@pytest.mark.parametrize("target", ["/\\evil.example", "//evil.example", "https://evil.example/"])
def test_login_never_redirects_off_site(client, staff, target):
    from tests.conftest import AuthActions

    page = AuthActions(client)
    response = client.post(
        f"/login?next={target}",
        data={"username": staff["nurse"].username, "password": "correct-horse-battery",
              "csrf_token": page.csrf()},
    )  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
