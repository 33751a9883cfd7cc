"""What a nurse reads on the board in Chromium, at a 1366 px desk, on a 10-inch tablet and on
a phone: who the patient is, the level by number, name and colour, every reason, the status of
care, the clocks against the level's target, overdue by its own mark, the vitals badges.
Screenshots of each go to artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from shared.db import Case
from shared.db.models import CareStatus, User
from shared.schemas import Acuity
from tests.browser.test_board_acuity import screenshot
from tests.browser.test_board_acuity import server as server  # the in-process app, a fixture
from tests.browser.test_board_flow import CHROMIUM, CHROMIUM_FLAGS, login
from tests.conftest import PASSWORD, case_body
from tests.support.cases import submit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

DESK = {"width": 1366, "height": 900}
VIEWPORTS = {
    "tablet-portrait": {"width": 800, "height": 1280},
    "tablet-landscape": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}
CONFLICT_NOTE = "Palpitations since noon. HR 150 on the monitor in the waiting room."


@pytest.fixture
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def terminal(chromium, base_url, username, viewport=DESK):
    """A terminal of its own (its own localStorage), logged in, on the board."""
    context = chromium.new_context(base_url=base_url, viewport=viewport)
    page = context.new_page()
    login(page, username, PASSWORD)
    page.goto("/")
    return page


def set_case(sessions, public_id, **values):
    with sessions.begin() as session:
        session.execute(update(Case).where(Case.public_id == public_id).values(**values))


def seed_ward(client, staff, sessions) -> dict[str, str]:
    """Eight open cases over all five levels, through intake and the real engine; their care
    (area, assignment, acknowledgement, re-triage time, override) written as the lifecycle
    service would leave it."""
    token = staff["nurse"].token
    now = dt.datetime.now(dt.UTC)
    with sessions() as session:
        clinician = session.scalar(select(User.id).where(User.username == "clinician1"))

    def new(risk, complaint, ref, age, sex, **fields):
        body = case_body(risk, chief_complaint=complaint, patient_ref=ref, age_years=age,
                         sex=sex, note=fields.pop("note", "Presents with symptoms."))  # fmt: skip
        body["vitals"].update(fields.pop("vitals", {}))
        if fields.pop("no_vitals", False):
            body["vitals"] = {}
        return submit(client, token, body)["id"]

    ids = {
        "arrest": new("low", "cardiac arrest, unresponsive", "MRN-1001", 67, "male",
                      note="Found collapsed, not breathing.", vitals={"consciousness": "U"}),
        "breathless": new("high", "short of breath", "MRN-1002", 54, "female"),
        "palpitations": new("low", "palpitations", "MRN-1003", 38, "female",
                            note=CONFLICT_NOTE, vitals={"heart_rate": 80}),
        "abdomen": new("medium", "abdominal pain", "MRN-1004", 45, "male"),
        "dizzy": new("low", "dizzy", "MRN-1005", 72, "female", note="", no_vitals=True),
        "ankle": new("low", "ankle sprain", "MRN-1006", 23, "male"),
        "wrist": new("low", "wrist pain", "MRN-1007", 16, "female"),
        "throat": new("low", "sore throat", "MRN-1008", 31, "other",
                      note="Sore throat for two days."),
    }  # fmt: skip
    set_case(sessions, ids["arrest"], area="resus")
    set_case(sessions, ids["breathless"], area="resus", care_status=CareStatus.IN_ASSESSMENT,
             assigned_to_id=clinician, acknowledged_at=now - dt.timedelta(minutes=5))  # fmt: skip
    set_case(sessions, ids["abdomen"], area="majors", created_at=now - dt.timedelta(minutes=45),
             last_assessed_at=now - dt.timedelta(minutes=45))  # fmt: skip
    set_case(sessions, ids["dizzy"], area="waiting room")
    # A clinician made the sprain more urgent (4 -> 3) and re-triaged it 70 minutes ago: its
    # level's target is now 30 minutes, so a re-triage is due.
    set_case(sessions, ids["ankle"], area="minors", care_status=CareStatus.IN_ASSESSMENT,
             assigned_to_id=clinician, created_at=now - dt.timedelta(minutes=90),
             acknowledged_at=now - dt.timedelta(minutes=80),
             last_assessed_at=now - dt.timedelta(minutes=70),
             override_acuity=Acuity.URGENT, acuity=Acuity.URGENT,
             risk_level="medium", risk_rank=Acuity.URGENT.risk_level.rank)  # fmt: skip
    set_case(sessions, ids["throat"], area="minors")
    return ids


def row_of(page, public_id):
    return page.locator(f"#board tbody tr[data-case-id='{public_id}']")


def test_desk_board_shows_who_level_reasons_care_and_clocks(
    chromium, server, client, staff, sessions, tmp_path
):
    from playwright.sync_api import expect

    ids = seed_ward(client, staff, sessions)
    page = terminal(chromium, server, staff["nurse"].username)
    rows = page.locator("#board tbody tr")
    expect(rows).to_have_count(8)
    # Within a level: vital signs not documented first, then the longest waiting.
    order = ["arrest", "breathless", "palpitations", "dizzy", "ankle", "abdomen", "wrist",
             "throat"]  # fmt: skip
    expected_badges = ["1* Resuscitation", "2* Emergent", "2* Emergent", "3* Urgent",
                       "3* Urgent", "3* Urgent", "4* Less urgent", "5* Non-urgent"]  # fmt: skip
    for index, (name, badge) in enumerate(zip(order, expected_badges, strict=True)):
        expect(rows.nth(index)).to_have_attribute("data-case-id", ids[name])
        expect(rows.nth(index).locator(".badge")).to_have_text(badge)
    expect(page.locator("#board-shown")).to_have_text("Showing all 8 open cases.")
    for level, count in {"1": "1", "2": "2", "3": "3", "4": "1", "5": "1"}.items():
        expect(page.locator(f"[data-count='{level}']")).to_have_text(count)
        expect(page.locator(f"[data-shown='{level}']")).to_have_text("")

    # Who: reference, age and sex (a word on hover), area and the clinician.
    arrest = row_of(page, ids["arrest"])
    expect(arrest.locator("td.patient")).to_have_text("MRN-1001 67 y M")
    expect(arrest.locator("td.patient abbr")).to_have_attribute("title", "male")
    expect(row_of(page, ids["wrist"]).locator("td.patient")).to_have_text("MRN-1007 16 y F")
    breathless = row_of(page, ids["breathless"]).locator("td.care")
    expect(breathless).to_contain_text("in assessment")
    expect(breathless).to_contain_text("with clinician1")
    expect(breathless).to_contain_text("in resus")
    expect(breathless).to_contain_text("analysis queued")
    expect(arrest.locator("td.care")).to_contain_text("waiting")
    expect(arrest.locator("td.care")).to_contain_text("unassigned")

    # The override orders the board and the engine's level stays beside it.
    ankle = row_of(page, ids["ankle"])
    expect(ankle.locator(".badge")).to_have_text("3* Urgent")
    expect(ankle.locator(".override")).to_have_text("override; engine 4 Less urgent")

    # Every reason, on hover (title) and on expand.
    reasons = client.get(
        "/api/v1/board", headers={"Authorization": f"Bearer {staff['nurse'].token}"}
    ).get_json()["rows"][0]["reasons"]
    assert len(reasons) >= 3
    why = arrest.locator("td.reason")
    assert why.get_attribute("title").count("\n") == len(reasons) - 1
    expect(why.locator("summary")).to_contain_text(f"+{len(reasons) - 1} more")
    expect(why.locator("li").first).to_be_hidden()
    why.locator("summary").click()
    expect(why.locator("li")).to_have_count(len(reasons))
    for index, reason in enumerate(reasons):
        expect(why.locator("li").nth(index)).to_contain_text(reason["detail"])
    # The expanded reasons stay open across the next polls.
    page.wait_for_timeout(1200)
    expect(row_of(page, ids["arrest"]).locator("td.reason li").last).to_be_visible()

    # Clocks against each level's target; overdue and re-triage due by their own marks.
    abdomen = row_of(page, ids["abdomen"])
    expect(abdomen).to_have_class("level-3 overdue retriage-due")
    expect(abdomen.locator("td.waiting")).to_have_text("45 min / 30 min ◷ overdue")
    expect(abdomen.locator(".flag-retriage")).to_have_text("↻ re-triage due")
    expect(ankle.locator("td.waiting")).to_have_text("seen after 10 min / 30 min")
    expect(ankle.locator("td.since")).to_have_text("1 h 10 min (every 30 min)")
    expect(ankle.locator(".flag-retriage")).to_have_text("↻ re-triage due")
    expect(ankle.locator(".flag-overdue")).to_have_count(0)
    expect(row_of(page, ids["breathless"]).locator(".flag-overdue")).to_have_count(0)
    expect(arrest.locator(".flag-overdue")).to_have_text("◷ overdue")  # level 1: at once
    expect(arrest.locator("td.since")).to_have_text("0 min (continuous)")
    overdue_flag = abdomen.locator(".flag-overdue")
    high = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--acuity-2').trim()"
    )
    assert high == "#d0021b"
    # Retrying assertions: the board re-renders its rows at each poll, and a style read from a
    # row just replaced is empty.
    expect(overdue_flag).to_have_css("background-color", "rgb(17, 17, 17)")  # black, not red
    expect(overdue_flag).to_have_css("color", "rgb(255, 255, 255)")
    high_tint = ""
    for _ in range(40):  # until a read lands on a row that is on the page
        high_tint = row_of(page, ids["breathless"]).evaluate(
            "tr => tr.isConnected ? getComputedStyle(tr).backgroundColor : ''"
        )
        if high_tint:
            break
        page.wait_for_timeout(50)
    assert high_tint
    # An overdue level 3 keeps its own level's colour.
    expect(abdomen).not_to_have_css("background-color", high_tint)

    # Vitals badges.
    expect(row_of(page, ids["dizzy"]).locator(".flag-missing")).to_have_text("♡ vitals needed")
    expect(row_of(page, ids["palpitations"]).locator(".flag-conflict")).to_have_text(
        "⇄ conflicting vitals — re-measure: HR 150 in note vs 80 typed"
    )
    page.locator("#alert-ack").click()
    expect(page.locator("#alert")).to_be_hidden()
    screenshot(page, tmp_path, "board-desk-1366.png")


@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_board_fits_tablets_and_a_phone_without_sideways_scrolling(
    chromium, server, client, staff, sessions, tmp_path, name
):
    from playwright.sync_api import expect

    ids = seed_ward(client, staff, sessions)
    viewport = VIEWPORTS[name]
    page = terminal(chromium, server, staff["nurse"].username, viewport)
    expect(page.locator("#board tbody tr")).to_have_count(8)
    expect(page.locator("#alert")).to_be_visible()
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1] == viewport["width"], widths
    for name_ in ("arrest", "abdomen", "dizzy", "palpitations"):
        box = row_of(page, ids[name_]).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (name_, box)
    # The words that matter are there at every size, not only their colour.
    abdomen = row_of(page, ids["abdomen"])
    expect(abdomen.locator(".badge")).to_be_visible()
    expect(abdomen.locator(".flag-overdue")).to_be_visible()
    expect(row_of(page, ids["dizzy"]).locator(".flag-missing")).to_be_visible()
    expect(row_of(page, ids["palpitations"]).locator(".flag-conflict")).to_be_visible()
    screenshot(page, tmp_path, f"board-{name}-{viewport['width']}.png")
    # What the nurse sees first, without scrolling, once the alert is acknowledged.
    page.keyboard.press("a")
    expect(page.locator("#alert")).to_be_hidden()
    screenshot(page, tmp_path, f"board-{name}-{viewport['width']}-screen.png", full_page=False)
