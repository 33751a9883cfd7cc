"""A busy department in Chromium on PostgreSQL: 2,000 open cases, and a new level-1 case is on
top of the board (and in the banner) at the next poll, while the board says how many it shows."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import cast

import pytest
from sqlalchemy import Table, insert, select

from shared.db import Case
from tests.browser.test_board_acuity import server as server  # the in-process app, a fixture
from tests.browser.test_board_views import chromium as chromium  # a fixture
from tests.browser.test_board_views import row_of, terminal
from tests.conftest import case_body
from tests.support.cases import submit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

OPEN_CASES = 2000
PER_LEVEL = {2: 40, 3: 500, 4: 1000, 5: 460}  # 2,000 in all


def seed_open_cases(client, token, sessions) -> None:
    """One case per level through intake and the real engine, then copies of it (new ids,
    arrival times spread over the last hours) until each level has its share."""
    templates = {
        2: case_body("high", chief_complaint="short of breath"),
        3: case_body("medium", chief_complaint="abdominal pain"),
        4: case_body("low", chief_complaint="ankle sprain"),
        5: case_body("low", chief_complaint="sore throat", note="Sore throat for two days."),
    }
    ids = {level: submit(client, token, body)["id"] for level, body in templates.items()}
    table = cast(Table, Case.__table__)
    now = dt.datetime.now(dt.UTC)
    with sessions.begin() as session:
        rows = []
        for level, public_id in ids.items():
            template = dict(session.execute(select(table).where(table.c.public_id == public_id))
                            .one()._mapping)  # fmt: skip
            assert template["acuity"] == level, (level, template["chief_complaint"])
            del template["id"]
            for n in range(PER_LEVEL[level] - 1):
                arrived = now - dt.timedelta(minutes=5, seconds=7 * n)
                rows.append({**template, "public_id": str(uuid.uuid4()),
                             "created_at": arrived, "updated_at": arrived,
                             "last_assessed_at": arrived})  # fmt: skip
        session.execute(insert(table), rows)


def test_a_new_level_1_case_is_on_top_at_once_among_2000_open_cases(
    chromium, server, client, staff, sessions, settings
):
    from playwright.sync_api import expect

    token = staff["nurse"].token
    seed_open_cases(client, token, sessions)
    page = terminal(chromium, server, staff["nurse"].username)
    rows = page.locator("#board tbody tr")
    page_size = settings.board_page_size
    expect(rows).to_have_count(PER_LEVEL[2] + page_size)
    expect(page.locator("#board-shown")).to_have_text(
        f"Showing {PER_LEVEL[2] + page_size} of {OPEN_CASES} open cases: "
        f"{OPEN_CASES - PER_LEVEL[2] - page_size} more of levels 3\u20135 below this page."
    )
    for level, count in PER_LEVEL.items():
        expect(page.locator(f"[data-count='{level}']")).to_have_text(str(count))
    expect(page.locator("[data-shown='2']")).to_have_text("")  # every level 2 is a row
    expect(page.locator("[data-shown='3']")).to_have_text(f" ({page_size} shown)")
    expect(page.locator("[data-shown='4']")).to_have_text(" (0 shown)")
    assert page.locator("#board tbody tr[data-acuity='2']").count() == PER_LEVEL[2]
    page.locator("#alert-ack").click()
    expect(page.locator("#alert")).to_be_hidden()

    body = case_body("low", chief_complaint="cardiac arrest, unresponsive", patient_ref="MRN-9001",
                     note="Found collapsed, not breathing.")  # fmt: skip
    body["vitals"]["consciousness"] = "U"
    submitted = time.monotonic()
    new = submit(client, token, body)
    # Within two polls (500 ms each in the tests' settings): at the top and in the banner.
    first = rows.first
    expect(first).to_have_attribute("data-case-id", new["id"], timeout=2 * settings.board_poll_ms
                                    + 1000)  # fmt: skip
    print(f"new level-1 case on top after {time.monotonic() - submitted:.2f} s")
    expect(first.locator(".badge")).to_have_text("1* Resuscitation")
    expect(first.locator("td.patient")).to_contain_text("MRN-9001")
    expect(page.locator("#alert")).to_be_visible()
    expect(page.locator("#alert-cases")).to_contain_text("cardiac arrest, unresponsive")
    expect(page.locator("[data-count='1']")).to_have_text("1")
    expect(page.locator("#board-shown")).to_have_text(
        f"Showing {PER_LEVEL[2] + page_size + 1} of {OPEN_CASES + 1} open cases: "
        f"{OPEN_CASES - PER_LEVEL[2] - page_size} more of levels 3\u20135 below this page."
    )

    # The next page on request, still with every level 1-2 case.
    page.locator("#board-more").click()
    expect(rows).to_have_count(1 + PER_LEVEL[2] + 2 * page_size)
    expect(row_of(page, new["id"])).to_be_visible()
