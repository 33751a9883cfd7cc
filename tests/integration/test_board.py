"""The board API: ordering, counts, targets, and 304 for an unchanged board."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from shared.db import Case
from tests.conftest import case_body
from tests.support.cases import submit


def board(client, token, etag=None):
    headers = {"Authorization": f"Bearer {token}"}
    if etag:
        headers["If-None-Match"] = etag
    return client.get("/api/v1/board", headers=headers)


def test_board_orders_by_risk_then_waiting_time(client, staff, sessions):
    token = staff["nurse"].token
    old_low = submit(client, token, case_body("low"))["id"]
    medium = submit(client, token, case_body("medium"))["id"]
    new_low = submit(client, token, case_body("low"))["id"]
    high = submit(client, token, case_body("high"))["id"]
    with sessions.begin() as session:  # the first Low has waited three hours
        session.execute(
            update(Case)
            .where(Case.public_id == old_low)
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=3))
        )
    body = board(client, token).get_json()
    assert [r["id"] for r in body["rows"]] == [high, medium, old_low, new_low]
    assert body["counts"] == {"high": 1, "medium": 1, "low": 2}
    rows = {r["id"]: r for r in body["rows"]}
    assert rows[high]["target_minutes"] == 0 and rows[old_low]["target_minutes"] == 120
    due = dt.datetime.fromisoformat(rows[old_low]["due_at"])
    assert due < dt.datetime.now(dt.UTC)  # overdue: the page marks it
    assert all(r["provisional"] for r in body["rows"])


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
    assert changed.get_json()["counts"]["high"] == 1
