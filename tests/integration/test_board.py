"""The board API: ordering by acuity, missing vital signs, conflicts, counts, targets, 304."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from shared.db import Case
from shared.schemas import Acuity
from tests.conftest import case_body
from tests.support.acuity import EngineFindings, hr_conflict
from tests.support.cases import submit
from web import create_app

CONFLICT_NOTE = "HR 150 on the monitor, looks unwell."


@pytest.fixture
def findings(monkeypatch):
    engine = EngineFindings()
    engine.install(monkeypatch)
    return engine


def board(client, token, etag=None):
    headers = {"Authorization": f"Bearer {token}"}
    if etag:
        headers["If-None-Match"] = etag
    return client.get("/api/v1/board", headers=headers)


def age(sessions, public_id, hours):
    with sessions.begin() as session:
        session.execute(
            update(Case)
            .where(Case.public_id == public_id)
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours))
        )


def test_board_orders_by_acuity_then_missing_vitals_then_waiting(client, staff, sessions, findings):
    token = staff["nurse"].token
    findings.set("cardiac arrest", acuity=Acuity.RESUSCITATION)
    findings.set("no obs taken", acuity=Acuity.LESS_URGENT, vitals_documented=False)
    findings.set("suture removal", acuity=Acuity.NON_URGENT)
    old_four = submit(client, token, case_body("low"))["id"]
    five = submit(client, token, case_body("low", chief_complaint="suture removal"))["id"]
    three = submit(client, token, case_body("medium"))["id"]
    undocumented = submit(client, token, case_body("low", chief_complaint="no obs taken"))["id"]
    new_four = submit(client, token, case_body("low"))["id"]
    two = submit(client, token, case_body("high"))["id"]
    one = submit(client, token, case_body("low", chief_complaint="cardiac arrest"))["id"]
    age(sessions, old_four, hours=3)  # the longest waiting of level 4, but documented

    body = board(client, token).get_json()
    assert [r["id"] for r in body["rows"]] == [
        one, two, three, undocumented, old_four, new_four, five
    ]  # fmt: skip
    assert body["counts"] == {"1": 1, "2": 1, "3": 1, "4": 3, "5": 1}
    rows = {r["id"]: r for r in body["rows"]}
    shown = [(r["acuity"], r["acuity_name"], r["risk_level"], r["target_minutes"])
             for r in body["rows"]]  # fmt: skip
    assert shown == [
        (1, "resuscitation", "high", 0),
        (2, "emergent", "high", 15),
        (3, "urgent", "medium", 30),
        (4, "less-urgent", "low", 60),
        (4, "less-urgent", "low", 60),
        (4, "less-urgent", "low", 60),
        (5, "non-urgent", "low", 120),
    ]
    assert [r["vitals_documented"] for r in body["rows"]].count(False) == 1
    assert rows[undocumented]["vitals_documented"] is False
    assert body["targets"] == {"1": 0, "2": 15, "3": 30, "4": 60, "5": 120}
    assert dt.datetime.fromisoformat(rows[old_four]["due_at"]) < dt.datetime.now(dt.UTC)
    assert all(r["provisional"] for r in body["rows"])


def test_row_shows_each_vital_sign_conflict_with_both_values(client, staff, findings):
    findings.set("palpitations", conflicts=[hr_conflict(CONFLICT_NOTE)])
    token = staff["nurse"].token
    body = case_body("low", chief_complaint="palpitations", note=CONFLICT_NOTE)
    body["vitals"]["heart_rate"] = 80
    case = submit(client, token, body)
    (row,) = board(client, token).get_json()["rows"]
    assert row["id"] == case["id"]
    assert [c["text"] for c in row["conflicts"]] == ["HR 150 in note vs 80 typed — re-measure"]
    assert row["conflicts"][0]["note"] == 150 and row["conflicts"][0]["structured"] == 80


def test_targets_come_from_the_settings(settings, staff):
    app = create_app(settings.model_copy(update={"target_minutes_3": 45}), {"TESTING": True})
    try:
        client = app.test_client()
        token = staff["nurse"].token
        submit(client, token, case_body("medium"))
        body = board(client, token).get_json()
        assert body["rows"][0]["target_minutes"] == 45 and body["targets"]["3"] == 45
    finally:
        app.extensions["db_engine"].dispose()


def test_unchanged_board_answers_304_and_a_change_answers_200(client, staff):
    token = staff["nurse"].token
    submit(client, token, case_body("low"))
    first = board(client, token)
    etag = first.headers["ETag"]
    again = board(client, token, etag)
    assert again.status_code == 304 and again.get_data() == b""
    submit(client, token, case_body("high"))
    changed = board(client, token, etag)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["counts"]["2"] == 1


def test_acuity_change_moves_the_etag_even_with_an_old_timestamp(client, staff, sessions):
    """Level 2 -> 1 keeps the risk level High; the board must still see the change."""
    token = staff["nurse"].token
    case = submit(client, token, case_body("high"))
    etag = board(client, token).headers["ETag"]
    with sessions.begin() as session:  # a late commit that kept its earlier updated_at
        session.execute(
            update(Case)
            .where(Case.public_id == case["id"])
            .values(acuity=Acuity.RESUSCITATION, updated_at=Case.updated_at)
        )
    changed = board(client, token, etag)
    assert changed.status_code == 200
    assert changed.get_json()["rows"][0]["acuity"] == 1
    with sessions() as session:
        assert session.scalar(select(Case.risk_level)).value == "high"
