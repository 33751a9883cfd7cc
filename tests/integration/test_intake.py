"""Intake over the API and the form: validation, idempotency, escaping, CSRF."""

from __future__ import annotations

import json
import re
import threading

import pytest
from alembic import command
from sqlalchemy import func, select, text

from shared import accounts
from shared.audit import verify_chain
from shared.cases import api_idempotency_key, form_idempotency_key
from shared.db import AuditEvent, Case, Role, make_engine, make_session_factory
from shared.migrate import alembic_config, upgrade
from tests.conftest import PASSWORD, case_body
from tests.support.cases import statuses, submit
from tests.support.faults import case_event_fails
from tests.support.services import PostgresDatabase
from web import create_app


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
    fields = {f["field"]: f["message"] for f in response.get_json()["fields"]}
    assert field in fields
    # Words a nurse or an integrator can act on, never Pydantic's own phrasing.
    assert not re.search(r"Value error|Input should", fields[field]), fields[field]
    assert case_count(sessions) == 0


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        # Issue 8: a boolean was stored as age 1 and turned a High adult into a Low.
        (case_body("high", age_years=True), "age_years", "Age must be a number."),
        (case_body(age_years="40"), "age_years", "Age must be a number."),
        (case_body(pregnant="yes"), "pregnant", "Pregnant or postpartum must be true or false."),
        (
            case_body(vitals={"heart_rate": "72"}),
            "vitals.heart_rate",
            "Heart rate must be a whole number.",
        ),
        (
            case_body(vitals={"heart_rate": 1200}),
            "vitals.heart_rate",
            "Heart rate over 300 /min is not possible; check the value.",
        ),
        (
            case_body(vitals={"temperature_c": 98.6}),
            "vitals.temperature_c",
            "Temperature over 45 °C is not possible; check the value and the unit.",
        ),
        (
            case_body(vitals={"systolic_bp": 80, "diastolic_bp": 120}),
            "vitals.diastolic_bp",
            "Diastolic pressure must be lower than systolic pressure.",
        ),
        (case_body(chief_complaint=""), "chief_complaint", "Enter the chief complaint."),
        (
            case_body(note="bad\x00byte"),
            "note",
            "Note contains control characters (invisible characters from copy and paste); "
            "remove them.",
        ),
        # Issue 8: C1 controls and direction overrides (a note could render reversed).
        (
            case_body(note="NEL\x85here"),
            "note",
            "Note contains control characters (invisible characters from copy and paste); "
            "remove them.",
        ),
        (
            case_body(chief_complaint="pain in left \u202etrA"),
            "chief_complaint",
            "Chief complaint contains characters that change the direction of text "
            "(invisible characters from copy and paste); remove them.",
        ),
        (
            case_body(patient_ref="MRN\u2067123\u2069"),
            "patient_ref",
            "Patient reference contains characters that change the direction of text "
            "(invisible characters from copy and paste); remove them.",
        ),
    ],
)
def test_api_is_strict_and_names_the_field_in_plain_words(
    client, staff, sessions, payload, field, message
):
    response = post(client, staff["nurse"].token, json=payload)
    assert response.status_code == 422
    fields = {f["field"]: f["message"] for f in response.get_json()["fields"]}
    assert fields[field] == message
    assert case_count(sessions) == 0


def test_deeply_nested_json_is_a_clear_400(client, staff, sessions):
    body = b'{"vitals": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    response = post(client, staff["nurse"].token, data=body, content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.get_json()["error"]
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


def test_same_key_with_a_different_body_is_refused_and_the_first_case_kept(
    client, staff, sessions, redis_server
):
    # Issue 8: the corrected vitals were silently dropped with a 202 "replayed".
    token, key = staff["nurse"].token, {"Idempotency-Key": "abc-2"}
    first = post(client, token, json=case_body("low"), headers=key)
    assert first.status_code == 202
    queued = redis_server.client().llen("triage\x06\x166")

    corrected = post(client, token, json=case_body("high"), headers=key)
    assert corrected.status_code == 422
    answer = corrected.get_json()
    assert "already used for a different case" in answer["error"]
    assert "nothing was saved" in answer["error"]
    assert answer["case"] == first.get_json()["url"]
    assert case_count(sessions) == 1
    with sessions() as session:
        assert session.scalar(select(Case.vitals))["heart_rate"] == 72  # the first body's
    assert redis_server.client().llen("triage\x06\x166") == queued  # nothing sent

    # The same case again, keys in another order, is still a replay of the first.
    same = json.dumps(dict(reversed(case_body("low").items())), indent=2)
    again = post(client, token, data=same, content_type="application/json", headers=key)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    # A new key takes the corrected case.
    new = post(client, token, json=case_body("high"), headers={"Idempotency-Key": "abc-3"})
    assert new.status_code == 202 and case_count(sessions) == 2


def test_form_and_api_keys_never_meet(client, staff, auth, sessions):
    auth.login(staff["nurse"].username)
    page = client.get("/cases/new").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "form_token": token,
        "age_years": "54",
        "chief_complaint": "cough",
        "respiratory_rate": "16",
    }
    assert client.post("/cases/new", data=data).status_code == 302
    # The same user over the API, with the form's token or with what it was stored as.
    api = staff["nurse"].token
    body = case_body(chief_complaint="cough")
    for key in (token, form_idempotency_key(token)):
        answer = post(client, api, json=body, headers={"Idempotency-Key": key})
        assert answer.status_code == 202 and "Idempotent-Replayed" not in answer.headers
    assert case_count(sessions) == 3


def test_form_resubmitted_with_other_values_says_so_and_keeps_the_first(
    client, staff, auth, sessions
):
    auth.login(staff["nurse"].username)
    page = client.get("/cases/new").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "form_token": token,
        "age_years": "54",
        "chief_complaint": "cough",
        "heart_rate": "72",
    }
    assert client.post("/cases/new", data=data).status_code == 302
    # Back, a corrected heart rate, submit again with the same form token.
    again = client.post("/cases/new", data={**data, "heart_rate": "140"})
    assert again.status_code == 422
    html = again.get_data(as_text=True)
    assert "already submitted, with other values; nothing was saved" in html
    fresh = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    assert fresh != token  # submitting again makes it a new case, on purpose
    assert 'value="140"' in html  # the nurse's values are still in the form
    with sessions() as session:
        assert session.scalar(select(Case.vitals))["heart_rate"] == 72
    assert case_count(sessions) == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    database = PostgresDatabase()
    database.create()
    try:
        yield database.url
    finally:
        database.drop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # settings: Redis only
def test_a_key_sent_before_migration_0007_still_replays_after_it(fresh_database, settings):
    """Keys stored as the client sent them become "api:" keys; the client's retry matches."""
    fresh = settings.model_copy(update={"database_url": fresh_database})
    upgrade(fresh)
    engine = make_engine(fresh_database)
    app = create_app(fresh, {"TESTING": True})
    try:
        with make_session_factory(engine).begin() as session:
            user = accounts.create_user(session, "nurse9", PASSWORD, Role.NURSE)
            token = accounts.create_token(session, user, "t")
        key = {"Idempotency-Key": "retry-7"}
        first = post(app.test_client(), token, json=case_body(), headers=key)
        assert first.status_code == 202
        with engine.begin() as conn:  # as revision 0006 stored it
            conn.execute(text("UPDATE cases SET idempotency_key = 'retry-7'"))
        command.downgrade(alembic_config(fresh_database), "0006")
        upgrade(fresh)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT idempotency_key FROM cases")).scalar_one()
        assert stored == api_idempotency_key("retry-7")
        again = post(app.test_client(), token, json=case_body(), headers=key)
        assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
        assert again.get_json()["id"] == first.get_json()["id"]
    finally:
        app.extensions["db_engine"].dispose()
        engine.dispose()


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


def intake_form(client, **fields):
    page = client.get("/cases/new").get_data(as_text=True)
    return {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "form_token": re.search(r'name="form_token" value="([^"]+)"', page).group(1),
        "age_years": "64",
        "sex": "female",
        "chief_complaint": "short of breath",
        **fields,
    }


def stored_vitals(sessions):
    with sessions() as session:
        return session.scalar(select(Case.vitals))


def test_blood_pressure_as_one_field_and_temperature_with_its_unit(client, staff, auth, sessions):
    auth.login(staff["nurse"].username)
    data = intake_form(client, blood_pressure="132 / 84", temperature="101.3F", heart_rate="96")
    response = client.post("/cases/new", data=data, follow_redirects=True)
    assert "Case submitted" in response.get_data(as_text=True)
    vitals = stored_vitals(sessions)
    assert (vitals["systolic_bp"], vitals["diastolic_bp"]) == (132, 84)
    assert vitals["temperature_c"] == 38.5 and vitals["heart_rate"] == 96


@pytest.mark.parametrize(
    ("fields", "name", "message"),
    [
        (
            {"temperature": "120", "temperature_unit": "F"},
            "temperature",
            "Temperature over 113 °F is not possible; check the value and the unit.",
        ),
        (
            {"temperature": "98.6", "temperature_unit": "C"},
            "temperature",
            "Temperature over 45 °C is not possible; check the value and the unit.",
        ),
        (
            {"heart_rate": "1200"},
            "heart_rate",
            "Heart rate over 300 /min is not possible; check the value.",
        ),
        ({"heart_rate": "72.5"}, "heart_rate", "Heart rate must be a whole number."),
        (
            {"blood_pressure": "120 over 80"},
            "blood_pressure",
            "Blood pressure: write systolic/diastolic in mmHg, for example 120/80.",
        ),
        (
            {"blood_pressure": "80/120"},
            "blood_pressure",
            "Diastolic pressure must be lower than systolic pressure.",
        ),
        (
            {"blood_pressure": "120/80", "systolic_bp": "140"},
            "blood_pressure",
            "Blood pressure and the separate systolic and diastolic fields disagree; "
            "clear one of them.",
        ),
        ({"age_years": ""}, "age_years", "Enter the age in years."),
    ],
)
def test_form_error_in_words_is_announced_and_focused(
    client, staff, auth, sessions, fields, name, message
):
    auth.login(staff["nurse"].username)
    response = client.post("/cases/new", data=intake_form(client, **fields))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<span class="error" id="err-{name}">{message}</span>' in html
    # The field says it is invalid, points at its message, and takes the focus.
    field = re.search(rf'<(?:input|select|textarea)[^>]* name="{name}"[^>]*>', html, re.S).group(0)
    assert 'aria-invalid="true"' in field and f"err-{name}" in field and "autofocus" in field
    assert html.count("autofocus") == 1
    assert f'<a href="#f-{name}">{message}</a>' in html  # the summary links to the field
    assert "Value error" not in html and "Input should" not in html
    assert case_count(sessions) == 0


def test_a_fresh_form_focuses_its_first_field(client, staff, auth):
    auth.login(staff["nurse"].username)
    html = client.get("/cases/new").get_data(as_text=True)
    first = re.search(r"<(?:input|select|textarea)(?![^>]*type=\"hidden\")[^>]*>", html).group(0)
    assert 'name="patient_ref"' in first and "autofocus" in first
    assert html.count("autofocus") == 1


def test_submit_and_start_the_next_case_opens_an_empty_form(client, staff, auth, sessions):
    auth.login(staff["nurse"].username)
    response = client.post(
        "/cases/new", data=intake_form(client, then="next", respiratory_rate="18")
    )
    assert response.status_code == 302 and response.headers["Location"] == "/cases/new"
    page = client.get("/cases/new").get_data(as_text=True)
    assert "Case submitted: provisional risk" in page
    assert 'value="short of breath"' not in page  # the next case starts empty
    assert case_count(sessions) == 1


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


@pytest.mark.parametrize("username", ["nurse1\x00", "a\x00b", "x" * 500, "nurse1\u202e"])
def test_a_username_no_account_can_have_is_a_401_not_a_500(client, staff, auth, username):
    response = auth.login(username)
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
