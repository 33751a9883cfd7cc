"""A shared terminal in Chromium: its name in the header, the idle lock that ends the session
and keeps the half-entered case for whoever logs in next, and "Log out" that keeps nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from shared.db import AuditEvent
from tests.conftest import PASSWORD
from tests.support.browser import chromium, login, serve
from web import create_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def base(settings, staff) -> Iterator[str]:
    """The app with a 3-second idle lock."""
    app = create_app(settings.model_copy(update={"idle_lock_minutes": 0.05}), {"TESTING": True})
    with serve(app) as url:
        yield url
    app.extensions["db_engine"].dispose()


@pytest.fixture
def page(base) -> Iterator[Any]:
    with chromium() as browser:
        context = browser.new_context(base_url=base)
        yield context.new_page()
        context.close()


def test_idle_lock_then_another_user_finishes_the_case(page, staff, sessions):
    from playwright.sync_api import expect

    page.goto("/login")
    page.fill("input[name=terminal]", "Triage desk 2")
    login(page, staff["nurse"].username, PASSWORD)
    expect(page.locator("#terminal-name")).to_have_text("Triage desk 2")
    page.goto("/cases/new")
    page.keyboard.type("R-1042")
    page.fill("input[name=age_years]", "71")
    page.fill("input[name=chief_complaint]", "fall at home")
    page.fill("input[name=blood_pressure]", "150/90")
    # Hands off the keyboard: a warning, then the lock.
    expect(page.locator("#idle-warning")).to_contain_text("this terminal locks in")
    page.wait_for_url(re.compile(r"/login\?.*locked=idle"), timeout=10_000)
    expect(page.locator("#locked")).to_contain_text("locked after 0.05 minutes without activity")
    assert page.request.get("/api/v1/session").status == 401  # ended on the server

    login(page, staff["clinician"].username, PASSWORD)
    page.wait_for_url("**/cases/new")
    expect(page.locator("#draft-notice")).to_contain_text("Unfinished case restored")
    expect(page.locator("#draft-notice")).to_contain_text("by nurse1")
    expect(page.locator("input[name=patient_ref]")).to_have_value("R-1042")
    expect(page.locator("input[name=chief_complaint]")).to_have_value("fall at home")
    expect(page.locator("input[name=blood_pressure]")).to_have_value("150/90")
    expect(page.locator(".who")).to_have_text("clinician1 (clinician)")
    page.click("form.intake button[value=board]")
    page.wait_for_url("**/?highlight=*")
    expect(page.locator("#board tbody tr", has_text="fall at home")).to_have_count(1)

    with sessions() as session:
        events = [(e.actor, e.action, e.detail) for e in session.scalars(select(AuditEvent))]
    assert ("nurse1", "user.locked", {"terminal": "Triage desk 2"}) in events
    assert ("clinician1", "user.login", {"terminal": "Triage desk 2"}) in events


def test_log_out_keeps_nothing_of_an_unfinished_case(page, staff):
    from playwright.sync_api import expect

    page.goto("/login")
    login(page, staff["nurse"].username, PASSWORD)
    page.goto("/cases/new")
    page.fill("input[name=chief_complaint]", "left behind")
    page.click("text=Log out")
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    login(page, staff["nurse"].username, PASSWORD)
    page.goto("/cases/new")
    expect(page.locator("input[name=chief_complaint]")).to_have_value("")
    expect(page.locator("#draft-notice")).to_be_hidden()


def test_switch_user_keeps_the_case_and_returns_to_it(page, staff):
    from playwright.sync_api import expect

    page.goto("/login")
    login(page, staff["nurse"].username, PASSWORD)
    page.goto("/cases/new")
    page.fill("input[name=chief_complaint]", "handed over")
    page.click("text=Switch user")
    expect(page.locator("#locked")).to_contain_text("Switch user: log in as the next user.")
    login(page, staff["clinician"].username, PASSWORD)
    page.wait_for_url("**/cases/new")
    expect(page.locator("input[name=chief_complaint]")).to_have_value("handed over")
