"""In Chromium: the first admin logs in with the generated password, every page leads back to
the change form until a new one is chosen, then lands where they were going; a locked-out
username sees how long to wait."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from shared import accounts
from shared.cli import ensure_first_admin
from shared.db import User
from tests.conftest import PASSWORD
from tests.support.browser import chromium, login, serve
from web import create_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

NEW_PASSWORD = "my-own-long-passphrase"


@pytest.fixture
def base(settings, sessions) -> Iterator[str]:
    """A fresh install: the first admin with a generated password (set to a known one here,
    as if read off the console), two failures lock a username."""
    ensure_first_admin(settings, None)
    with sessions.begin() as session:
        session.execute(update(User).values(password_hash=accounts.hash_password(PASSWORD)))
    app = create_app(
        settings.model_copy(update={"login_limit_user": "2 per minute"}), {"TESTING": True}
    )
    with serve(app) as url:
        yield url
    app.extensions["db_engine"].dispose()


@pytest.fixture
def page(base) -> Iterator[Any]:
    with chromium() as browser:
        context = browser.new_context(base_url=base)
        yield context.new_page()
        context.close()


def test_first_admin_must_choose_a_password_before_anything_else(page):
    page.goto("/admin/users")
    login(page, "admin", PASSWORD)
    page.wait_for_url("**/account/password**")
    assert page.locator("#must-change").is_visible()
    page.goto("/cases/new")  # every page leads back
    page.wait_for_url("**/account/password**")
    page.fill("input[name=current_password]", PASSWORD)
    page.fill("input[name=new_password]", NEW_PASSWORD)
    page.fill("input[name=confirm_password]", "a-different-passphrase")
    page.click("form.stack button[type=submit]")
    assert "confirmation differ" in page.locator("#password-error").inner_text()
    page.fill("input[name=current_password]", PASSWORD)
    page.fill("input[name=new_password]", NEW_PASSWORD)
    page.fill("input[name=confirm_password]", NEW_PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/cases/new")
    assert "Your password is changed" in page.content()
    page.goto("/admin/users")
    assert page.locator("#users tr[data-user=admin]").inner_text().count("changed") == 1


def test_a_locked_out_username_is_told_how_long_to_wait(page):
    page.goto("/login")
    for _ in range(2):
        login(page, "admin", "wrong-password-here")
        assert "wrong password" in page.locator("#login-error").inner_text()
    login(page, "admin", PASSWORD)
    message = page.locator("#login-error").inner_text()
    assert message.startswith("Too many failed logins. Try again in ")
    assert "/login" in page.url
