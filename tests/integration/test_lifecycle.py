"""The case lifecycle over the API and the case page, on SQLite and PostgreSQL: acknowledge,
re-triage through the real queue and worker, override, disposition, notes, search; roles,
idempotency, errors, and one audit event per step written with the change."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from shared.audit import verify_chain
from shared.db import AuditEvent, Case, Result
from tests.conftest import CSRF_RE, case_body
from tests.support import faults
from tests.support.cases import submit, wait_analyzed
from tests.support.services import wait_for
from web import create_app

WORSE = {
    "respiratory_rate": 26,
    "spo2": 92,
    "on_oxygen": False,
    "systolic_bp": 98,
    "heart_rate": 118,
    "consciousness": "A",
    "temperature_c": 38.6,
}
WORST = {**WORSE, "respiratory_rate": 31, "spo2": 89, "systolic_bp": 88, "heart_rate": 135}


def call(client, token, public_id, action, body=None, key=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return client.post(f"/api/v1/cases/{public_id}/{action}", json=body or {}, headers=headers)


def get_case(client, token, public_id):
    response = client.get(
        f"/api/v1/cases/{public_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    return response.get_json()


def board_ids(client, token):
    body = client.get("/api/v1/board", headers={"Authorization": f"Bearer {token}"}).get_json()
    return [row["id"] for row in body["rows"]]


def events(sessions, action):
    with sessions() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_acknowledge_assigns_sets_the_area_and_writes_one_audit_event(client, staff, sessions):
    nurse, clinician = staff["nurse"].token, staff["clinician"].token
    case = submit(client, nurse, case_body("medium"))["id"]
    assert get_case(client, nurse, case)["care"]["care_status"] == "waiting"

    answer = call(client, nurse, case, "acknowledge", {"area": "resus"})
    assert answer.status_code == 200
    care = answer.get_json()["care"]
    assert (care["care_status"], care["assigned_to"], care["area"]) == (
        "in_assessment", "nurse1", "resus"
    )  # fmt: skip
    # Re-assigned to a named clinician, moved to majors.
    call(client, nurse, case, "acknowledge", {"assign_to": "clinician1"})
    assert call(client, clinician, case, "area", {"area": "majors"}).status_code == 200
    care = get_case(client, nurse, case)["care"]
    assert (care["assigned_to"], care["area"]) == ("clinician1", "majors")
    acknowledged = events(sessions, "case.acknowledged")
    assert [e.detail["assigned_to"] for e in acknowledged] == ["nurse1", "clinician1"]
    assert events(sessions, "case.moved")[0].detail == {"from": "resus", "to": "majors"}


@pytest.mark.parametrize(
    ("action", "body", "status", "message"),
    [
        ("acknowledge", {"assign_to": "auditor1"}, 422, "No active clinician named"),
        ("acknowledge", {"area": "car park"}, 422, "waiting room, resus, majors, minors"),
        ("acknowledge", {"extra": 1}, 422, "not valid"),
        ("override", {"acuity": 2}, 422, "not valid"),
        ("override", {"acuity": 2, "reason": "  "}, 422, "not valid"),
        ("override", {"acuity": 9, "reason": "looks unwell"}, 422, "not valid"),
        ("override", {"acuity": None, "reason": "undo"}, 409, "no override to withdraw"),
        ("observations", {"vitals": {}}, 422, "not valid"),
        ("observations", {"vitals": {"heart_rate": 900}}, 422, "not valid"),
        ("disposition", {"disposition": "home"}, 422, "not valid"),
        ("notes", {"text": ""}, 422, "not valid"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_changes(
    client, staff, sessions, action, body, status, message
):
    case = submit(client, staff["nurse"].token, case_body("low"))["id"]
    answer = call(client, staff["clinician"].token, case, action, body)
    assert answer.status_code == status
    assert message in answer.get_json()["error"] + str(answer.get_json().get("fields"))
    with sessions() as session:
        case_events = select(AuditEvent.action).where(AuditEvent.case_id.is_not(None))
        assert session.scalars(case_events).all() == ["case.submitted"]
        row = session.scalar(select(Case))
        assert (row.care_status.value, row.acuity, row.override_acuity) == ("waiting", 4, None)


def test_malformed_requests_and_unknown_cases(client, staff):
    token = staff["nurse"].token
    case = submit(client, token, case_body("low"))["id"]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/cases/{case}/acknowledge"
    assert client.post(url, data="area=resus", headers=headers).status_code == 415
    assert client.post(url, json=[1], headers=headers).status_code == 400
    long_key = {**headers, "Idempotency-Key": "k" * 300}
    assert client.post(url, json={}, headers=long_key).status_code == 400
    missing = call(client, token, "no-such-case", "acknowledge")
    assert missing.status_code == 404 and missing.get_json()["error"] == "No case with this id."
    assert client.post(url, json={}).status_code == 401


def test_role_rules(client, staff, sessions):
    nurse = staff["nurse"].token
    case = submit(client, nurse, case_body("low"))["id"]
    for role in ("auditor", "admin"):
        assert call(client, staff[role].token, case, "acknowledge").status_code == 403
    override = call(client, nurse, case, "override", {"acuity": 2, "reason": "looks grey"})
    assert override.status_code == 403
    discharge = call(client, nurse, case, "disposition", {"disposition": "discharge"})
    assert discharge.status_code == 403
    assert "left without being seen" in discharge.get_json()["error"]
    left = call(client, nurse, case, "disposition", {"disposition": "left_without_being_seen"})
    assert left.status_code == 200
    assert left.get_json()["care"]["disposition"] == "left_without_being_seen"
    assert [e.actor for e in events(sessions, "case.disposed")] == ["nurse1"]


def test_override_orders_the_board_and_the_engine_level_stays_beside_it(client, staff, sessions):
    nurse, clinician = staff["nurse"].token, staff["clinician"].token
    three = submit(client, nurse, case_body("medium"))["id"]
    four = submit(client, nurse, case_body("low"))["id"]
    assert board_ids(client, nurse) == [three, four]

    answer = call(client, clinician, four, "override", {"acuity": 2, "reason": "grey, sweaty"})
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["acuity"], body["risk_level"]) == (2, "high")
    assert body["care"]["engine_acuity"] == 4
    assert body["care"]["override"]["reason"] == "grey, sweaty"
    assert body["care"]["override"]["by"] == "clinician1"
    assert board_ids(client, nurse) == [four, three]

    withdrawn = call(client, clinician, four, "override", {"acuity": None, "reason": "ECG fine"})
    assert withdrawn.get_json()["acuity"] == 4 and withdrawn.get_json()["care"]["override"] is None
    assert board_ids(client, nurse) == [three, four]
    overridden, undone = (
        events(sessions, "case.overridden"),
        events(sessions, "case.override_withdrawn"),
    )
    assert overridden[0].detail["engine_acuity"] == 4 and overridden[0].detail["acuity"] == 2
    assert undone[0].detail["reason"] == "ECG fine"


def test_disposed_case_leaves_the_board_refuses_changes_and_is_found(client, staff):
    nurse, clinician = staff["nurse"].token, staff["clinician"].token
    case = submit(client, nurse, case_body("medium", patient_ref="MRN-77"))["id"]
    other = submit(client, nurse, case_body("low"))["id"]
    call(client, clinician, case, "acknowledge")
    assert call(client, clinician, case, "disposition", {"disposition": "admit"}).status_code == 200
    assert board_ids(client, nurse) == [other]

    again = call(client, clinician, case, "acknowledge")
    assert again.status_code == 409 and "closed (admit)" in again.get_json()["error"]
    assert call(client, nurse, case, "notes", {"text": "Bed 4 on ward 6."}).status_code == 200

    found = client.get(
        "/api/v1/cases?status=disposed&reference=MRN-77",
        headers={"Authorization": f"Bearer {staff['auditor'].token}"},
    ).get_json()
    assert found["total"] == 1 and found["items"][0]["id"] == case
    assert found["items"][0]["disposition"] == "admit"
    care = get_case(client, nurse, case)["care"]
    assert care["notes"][0]["text"] == "Bed 4 on ward 6." and care["notes"][0]["by"] == "nurse1"


def test_search_pages_say_how_many_matched(client, staff):
    token = staff["clinician"].token
    ids = [submit(client, token, case_body("low"))["id"] for _ in range(5)]
    submit(client, token, case_body("medium"))
    for public_id in ids:
        call(client, token, public_id, "disposition", {"disposition": "discharge"})
    headers = {"Authorization": f"Bearer {token}"}
    first = client.get("/api/v1/cases?status=disposed&per_page=2", headers=headers).get_json()
    assert (first["total"], first["pages"], len(first["items"])) == (5, 3, 2)
    seen = [item["id"] for item in first["items"]]
    page = first
    while "next" in page:
        page = client.get(page["next"], headers=headers).get_json()
        seen += [item["id"] for item in page["items"]]
    assert sorted(seen) == sorted(ids)
    level_3 = client.get("/api/v1/cases?level=3", headers=headers).get_json()
    assert level_3["total"] == 1 and level_3["items"][0]["care_status"] == "waiting"
    assert client.get("/api/v1/cases?since=2999-01-01", headers=headers).get_json()["total"] == 0
    today = client.get("/api/v1/cases?since=2000-01-01&status=waiting", headers=headers)
    assert today.get_json()["total"] == 1
    bad = client.get("/api/v1/cases?level=7&per_page=5000", headers=headers)
    assert bad.status_code == 422
    assert {f["field"] for f in bad.get_json()["fields"]} == {"level", "per_page"}


def test_idempotency_key_makes_a_repeated_action_one(client, staff, sessions):
    token = staff["clinician"].token
    case = submit(client, token, case_body("low"))["id"]
    body = {"acuity": 3, "reason": "looks unwell"}
    first = call(client, token, case, "override", body, key="ov-1")
    second = call(client, token, case, "override", body, key="ov-1")
    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(events(sessions, "case.overridden")) == 1
    other = call(client, token, case, "notes", {"text": "x"}, key="ov-1")
    assert other.status_code == 409 and "already used" in other.get_json()["error"]
    # The same key with another level is refused, not answered with the first override.
    changed = call(client, token, case, "override", {**body, "acuity": 1}, key="ov-1")
    assert changed.status_code == 422 and "different values" in changed.get_json()["error"]
    assert get_case(client, token, case)["acuity"] == 3
    assert len(events(sessions, "case.overridden")) == 1


def test_an_action_whose_audit_event_fails_changes_nothing(
    client, staff, sessions, engines, settings, monkeypatch
):
    token = staff["clinician"].token
    case = submit(client, token, case_body("low"))["id"]
    monkeypatch.setattr(faults, "WHEN", "WHEN (NEW.action = 'case.overridden')")
    with faults.case_event_fails(engines[settings.database_url], "refuse"):
        answer = call(client, token, case, "override", {"acuity": 1, "reason": "arrest"})
    assert answer.status_code == 500 and "nothing was changed" in answer.get_json()["error"]
    with sessions() as session:
        row = session.scalar(select(Case))
        assert (row.acuity, row.override_acuity, row.override_reason) == (4, None, None)


def test_retriage_runs_through_the_worker_keeps_history_and_escalates(
    client, staff, sessions, worker
):
    worker.start()
    nurse, clinician = staff["nurse"].token, staff["clinician"].token
    case = submit(client, nurse, case_body("low"))["id"]
    wait_analyzed(sessions, [case])
    before = get_case(client, nurse, case)
    assert before["care"]["news2_trend_text"] == "0"

    answer = call(client, nurse, case, "observations", {"vitals": WORSE, "note": "more breathless"})
    assert answer.status_code == 202
    body = answer.get_json()
    assert body["dispatch"] == "sent"
    # The engine's level at once, before the worker: more urgent, flagged as an escalation.
    assert body["acuity"] < 4 and body["provisional"] is True
    assert body["care"]["escalation"]["from_acuity"] == 4
    assert body["care"]["last_assessed_at"] > before["care"]["last_assessed_at"]
    wait_analyzed(sessions, [case])

    call(client, nurse, case, "observations", {"vitals": WORST})
    wait_analyzed(sessions, [case])
    after = get_case(client, clinician, case)
    trend = [point["total"] for point in after["care"]["news2_trend"]]
    assert trend[0] == 0 and trend[0] < trend[1] < trend[2]
    assert after["care"]["news2_trend_text"] == " → ".join(map(str, trend))
    assert after["acuity"] <= body["acuity"] and after["result"]["acuity"] == after["acuity"]
    with sessions() as session:
        keys = session.scalars(select(Result.analysis_key).order_by(Result.id)).all()
    assert len(keys) == 3 and len(set(keys)) == 3  # the old results kept as history
    assert [r["of"] for r in after["care"]["results"]] == ["intake", "re-triage", "re-triage"]
    assert len(events(sessions, "case.retriaged")) == 2
    assert events(sessions, "case.escalated")[0].detail["from_acuity"] == 4

    acknowledged = call(client, clinician, case, "acknowledge").get_json()
    assert acknowledged["care"]["escalation"] is None
    assert events(sessions, "case.acknowledged")[0].detail["escalation_acknowledged"] is True


def test_a_retriage_measurement_outranks_vitals_written_in_the_intake_note(client, staff):
    """The intake note said "HR 150, BP 85/50"; re-measured after fluids the fields are
    normal: the new values count (no stale conflict), so a re-triage can also de-escalate."""
    nurse = staff["nurse"].token
    body = case_body("low", note="HR 150, BP 85/50 at arrival, looks pale")
    body["vitals"] = {k: v for k, v in body["vitals"].items() if k not in ("heart_rate",)}
    case = submit(client, nurse, body)["id"]
    first = get_case(client, nurse, case)
    assert first["acuity"] <= 2  # the note's pressure and pulse count at intake
    calm = {**case_body("low")["vitals"], "heart_rate": 84, "systolic_bp": 124}
    answer = call(client, nurse, case, "observations", {"vitals": calm, "note": "after fluids"})
    assert answer.status_code == 202, answer.get_json()
    after = answer.get_json()
    assert after["acuity"] >= 4, after
    assert get_case(client, nurse, case)["conflicts"] == []


def test_a_new_result_never_replaces_a_clinicians_override(client, staff, sessions, worker):
    nurse, clinician = staff["nurse"].token, staff["clinician"].token
    case = submit(client, nurse, case_body("low"))["id"]
    call(client, clinician, case, "override", {"acuity": 1, "reason": "peri-arrest on arrival"})
    call(client, nurse, case, "observations", {"vitals": WORSE})
    worker.start()
    wait_analyzed(sessions, [case])
    body = get_case(client, clinician, case)
    assert body["acuity"] == 1 and body["care"]["override"]["acuity"] == 1
    assert body["care"]["engine_acuity"] == body["result"]["acuity"] > 1
    with sessions() as session:
        analyzed = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "case.analyzed")
        ).all()
    assert [d["override_acuity"] for d in analyzed] == [1]


def test_a_case_closed_before_its_analysis_stays_closed(client, staff, sessions, worker):
    token = staff["clinician"].token
    case = submit(client, token, case_body("medium"))["id"]
    call(client, token, case, "disposition", {"disposition": "left_without_being_seen"})
    worker.start()
    wait_for(lambda: "succeeded" in worker.log(), 30, "the worker to take the message")
    with sessions() as session:
        row = session.scalar(select(Case))
        assert (row.status.value, row.care_status.value) == ("closed", "disposed")
        assert session.scalar(select(func.count(Result.id))) == 0
        assert verify_chain(session).ok


def form(client, public_id, action, **fields):
    page = client.get(f"/cases/{public_id}").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": CSRF_RE.search(page).group(1), "form_token": token, **fields}
    return client.post(f"/cases/{public_id}/{action}", data=data)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_case_page_reads_like_a_chart_in_the_site_time_zone(settings, staff, sessions):
    app = create_app(settings.model_copy(update={"timezone": "Asia/Kolkata"}), {"TESTING": True})
    client = app.test_client()
    note = "Cough for 2 days. Denies SOB. No fever or rash."
    case = submit(client, staff["nurse"].token, case_body("low", note=note))["id"]
    from tests.conftest import AuthActions

    AuthActions(client).login(staff["clinician"].username)
    html = client.get(f"/cases/{case}").get_data(as_text=True)
    shown = re.sub(r"<[^>]+>", " ", html)  # what a reader sees, not the form's field names
    assert "spo2_scale2" not in shown and "False" not in shown and "None" not in shown
    assert "SpO2" in shown and "room air" in shown and "alert" in shown
    assert " IST" in shown and "Times in Asia/Kolkata" in shown
    negatives = re.search(r'<ul id="negatives">(.*?)</ul>', html, re.S).group(1)
    for denied in ("shortness of breath", "fever", "rash"):
        assert f"No {denied}" in negatives
    assert "cough" not in negatives.lower()
    assert re.search(r"<dd id=\"waited\">\d+ min of a 60 min target</dd>", html)
    app.extensions["db_engine"].dispose()


def test_case_page_forms_do_each_step_and_refuse_what_the_role_may_not(
    client, staff, auth, sessions
):
    case = submit(client, staff["nurse"].token, case_body("low"))["id"]
    auth.login(staff["nurse"].username)
    page = client.get(f"/cases/{case}").get_data(as_text=True)
    assert 'id="form-override"' not in page and ">discharge<" not in page
    assert form(client, case, "acknowledge", area="minors").status_code == 303
    assert form(client, case, "notes", text="Waiting for X-ray.").status_code == 303
    refused = form(client, case, "disposition", disposition="admit")
    assert refused.status_code == 403
    bad = form(client, case, "observations", heart_rate="900")
    assert bad.status_code == 422 and "Heart rate: must be less than or equal to 300" in (
        bad.get_data(as_text=True)
    )
    no_csrf = client.post(f"/cases/{case}/notes", data={"form_token": "x", "text": "hi"})
    assert no_csrf.status_code == 400
    auth.logout()

    auth.login(staff["clinician"].username)
    assert form(client, case, "override", acuity="2", reason="looks unwell").status_code == 303
    shown = client.get(f"/cases/{case}").get_data(as_text=True)
    assert 'id="case-acuity"><b>2</b> emergent' in shown
    assert re.search(r'id="engine-acuity">4 less-urgent<', shown)
    assert "looks unwell" in shown and "Waiting for X-ray." in shown
    assert form(client, case, "disposition", disposition="admit").status_code == 303
    closed = client.get(f"/cases/{case}").get_data(as_text=True)
    assert "in assessment" not in closed and "disposed: admit by clinician1" in closed
    timeline = re.findall(r'<li data-action="([^"]+)"', closed)
    assert timeline == [
        "case.submitted", "case.acknowledged", "case.note_added", "case.overridden",
        "case.disposed",
    ]  # fmt: skip
    with sessions() as session:
        assert verify_chain(session).ok
