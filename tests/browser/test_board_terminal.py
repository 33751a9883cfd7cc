"""One terminal's board in Chromium: filters it remembers, the keyboard, and a new level 1-2
case that cannot be missed (a banner and an optional sound until this terminal acknowledges)."""

from __future__ import annotations

import re

import pytest

from shared.schemas import Acuity
from tests.browser.test_board_acuity import server as server  # the in-process app, a fixture
from tests.browser.test_board_views import chromium as chromium  # a fixture
from tests.browser.test_board_views import row_of, seed_ward, set_case, terminal
from tests.conftest import case_body
from tests.support.cases import submit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

# Counts calls to the Web Audio API: the sound a nurse would hear.
COUNT_BEEPS = """
window.__beeps = 0;
const original = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  window.__beeps += 1;
  return original.call(this);
};
"""


def shown_ids(page):
    return page.locator("#board tbody tr").evaluate_all("rows => rows.map(r => r.dataset.caseId)")


def test_filters_are_remembered_per_terminal_and_say_what_they_hide(
    chromium, server, client, staff, sessions
):
    from playwright.sync_api import expect

    ids = seed_ward(client, staff, sessions)
    desk = terminal(chromium, server, staff["nurse"].username)
    expect(desk.locator("#board tbody tr")).to_have_count(8)
    desk.select_option("#filter-area", "minors")
    rows = desk.locator("#board tbody tr")
    expect(rows).to_have_count(5)
    # The level 1-2 cases stay, marked as outside the filter; minors' cases follow.
    wanted = [ids[n] for n in ("arrest", "breathless", "palpitations", "ankle", "throat")]
    assert shown_ids(desk) == wanted
    expect(row_of(desk, ids["arrest"]).locator(".outside")).to_have_text("outside your filter")
    expect(row_of(desk, ids["ankle"]).locator(".outside")).to_have_count(0)
    expect(desk.locator("#board-shown")).to_have_text(
        "Showing 5 of 8 open cases: 3 hidden by the filter (area minors); "
        "3 level 1\u20132 outside the filter listed anyway."
    )
    # Every count says when fewer are shown than are open.
    expect(desk.locator("[data-count='3']")).to_have_text("3")
    expect(desk.locator("[data-shown='3']")).to_have_text(" (1 shown)")
    expect(desk.locator("[data-shown='4']")).to_have_text(" (0 shown)")
    expect(desk.locator("[data-shown='2']")).to_have_text("")

    desk.reload()
    expect(desk.locator("#filter-area")).to_have_value("minors")
    expect(rows).to_have_count(5)

    # Another terminal has its own (no) filter.
    other = terminal(chromium, server, staff["clinician"].username)
    expect(other.locator("#filter-area")).to_have_value("")
    expect(other.locator("#board tbody tr")).to_have_count(8)
    # The clinician's own cases: level 1-2 stay, and the sprain assigned to clinician1.
    other.keyboard.press("m")
    expect(other.locator("#filter-mine")).to_be_checked()
    expect(other.locator("#board tbody tr")).to_have_count(4)
    assert shown_ids(other) == [ids[n] for n in ("arrest", "breathless", "palpitations", "ankle")]
    other.select_option("#filter-status", "retriage_due")
    expect(other.locator("#board tbody tr")).to_have_count(4)  # the sprain is due
    other.select_option("#filter-status", "waiting")
    expect(other.locator("#board tbody tr")).to_have_count(3)  # the sprain is in assessment
    other.keyboard.press("r")
    expect(other.locator("#board tbody tr")).to_have_count(8)
    other.reload()
    expect(other.locator("#filter-mine")).not_to_be_checked()
    expect(other.locator("#board tbody tr")).to_have_count(8)

    desk.select_option("#filter-level", "5")
    expect(rows).to_have_count(4)
    expect(desk.locator("#board-shown")).to_contain_text(
        "hidden by the filter (area minors, level 5 Non-urgent)"
    )


def test_keyboard_moves_expands_and_opens(chromium, server, client, staff, sessions):
    from playwright.sync_api import expect

    ids = seed_ward(client, staff, sessions)
    page = terminal(chromium, server, staff["nurse"].username)
    expect(page.locator("#board tbody tr")).to_have_count(8)
    page.keyboard.press("j")
    expect(row_of(page, ids["arrest"])).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(row_of(page, ids["palpitations"])).to_be_focused()
    page.keyboard.press("k")
    expect(row_of(page, ids["breathless"])).to_be_focused()
    # The focus stays on the same case across polls that rebuild the rows.
    submit(client, staff["nurse"].token, case_body("low", chief_complaint="splinter"))
    expect(page.locator("#board tbody tr")).to_have_count(9)
    expect(row_of(page, ids["breathless"])).to_be_focused()
    page.keyboard.press("e")
    expect(row_of(page, ids["breathless"]).locator("td.reason li").first).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#shortcuts dl")).to_be_visible()
    page.keyboard.press("f")
    expect(page.locator("#filter-area")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}$"))
    page.go_back()
    expect(page.locator("#board tbody tr")).to_have_count(9)
    page.keyboard.press("n")
    page.wait_for_url(re.compile(r"/cases/new"))


def test_a_new_level_1_case_cannot_be_missed_until_this_terminal_acknowledges(
    chromium, server, client, staff, sessions
):
    from playwright.sync_api import expect

    ids = seed_ward(client, staff, sessions)
    desk = terminal(chromium, server, staff["nurse"].username)
    desk.context.add_init_script(COUNT_BEEPS)
    desk.reload()
    corridor = terminal(chromium, server, staff["clinician"].username)
    for page in (desk, corridor):
        expect(page.locator("#alert")).to_be_visible()
        expect(page.locator("#alert-title")).to_have_text(
            "3 new level 1\u20132 cases: not yet acknowledged on this terminal"
        )
    desk.check("#sound")
    desk.keyboard.press("a")
    expect(desk.locator("#alert")).to_be_hidden()
    expect(desk).to_have_title(re.compile(r"^Board"))
    beeps = desk.evaluate("window.__beeps")
    assert beeps >= 1  # turning the sound on plays it once, so the nurse hears it works

    body = case_body("low", chief_complaint="collapsed, not breathing", patient_ref="MRN-2001",
                     note="Found collapsed, not breathing.")  # fmt: skip
    body["vitals"]["consciousness"] = "U"
    new = submit(client, staff["nurse"].token, body)
    assert new["provisional_acuity"] == 1
    expect(desk.locator("#alert")).to_be_visible()
    expect(desk.locator("#alert-title")).to_have_text(
        "New level 1 case: not yet acknowledged on this terminal"
    )
    expect(desk.locator("#alert-cases")).to_contain_text(
        "1 Resuscitation — collapsed, not breathing (MRN-2001, 54 y F, waiting)"
    )
    expect(desk).to_have_title(re.compile(r"^\(1 new level 1\u20132\) Board"))
    assert desk.evaluate("window.__beeps") > beeps  # the sound played for the new case
    # Second: the earlier level-1 case has waited longer; both above every level 2.
    expect(desk.locator("#board tbody tr").nth(1)).to_have_attribute("data-case-id", new["id"])

    desk.locator("#alert-ack").click()
    expect(desk.locator("#alert")).to_be_hidden()
    desk.reload()
    expect(desk.locator("#board tbody tr")).to_have_count(9)
    expect(desk.locator("#alert")).to_be_hidden()
    expect(desk.locator("#sound")).to_be_checked()
    # The other terminal has not acknowledged anything yet.
    expect(corridor.locator("#alert-title")).to_have_text(
        "4 new level 1\u20132 cases: not yet acknowledged on this terminal"
    )

    # An acknowledged level-2 case that becomes level 1 is new again.
    set_case(sessions, ids["palpitations"], acuity=Acuity.RESUSCITATION,
             engine_acuity=Acuity.RESUSCITATION, escalated_from=Acuity.EMERGENT)  # fmt: skip
    expect(desk.locator("#alert-cases")).to_contain_text("1 Resuscitation — palpitations")
    expect(row_of(desk, ids["palpitations"]).locator(".flag-escalated")).to_have_text(
        "↑ escalated from 2"
    )
