"""The newcomer's path in Chromium: `medtriage up`, admin creates a nurse, the nurse submits
a level-4 then a level-2 case, both appear with level 2 on top, and both turn analyzed."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import ROOT, free_port, wait_for

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ADMIN_PASSWORD = "admin-password-1"


@pytest.fixture
def stack(redis_server, tmp_path: Path) -> Iterator[str]:
    """The whole product as a newcomer runs it: one `medtriage up`, stopped with Ctrl-C."""
    port = free_port()
    env = {
        **os.environ,
        "MEDTRIAGE_INSTANCE_PATH": str(tmp_path / "instance"),
        "MEDTRIAGE_REDIS_URL": redis_server.url.replace("/0", "/3"),
        "MEDTRIAGE_PORT": str(port),
        "MEDTRIAGE_WEB_WORKERS": "1",
        "MEDTRIAGE_BOARD_POLL_MS": "500",
    }
    env.pop("MEDTRIAGE_DATABASE_URL", None)  # the default: SQLite in the instance folder
    log = (tmp_path / "up.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "up", "--admin-password", ADMIN_PASSWORD],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return urllib.request.urlopen(base + "/healthz", timeout=1).status == 200
        except OSError:
            return False

    try:
        wait_for(healthy, 60, "medtriage up to serve")
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        output = (tmp_path / "up.log").read_text(errors="replace")
        assert code == 0, output[-3000:]
        assert "stopped" in output
        assert not healthy()


@pytest.fixture
def page(stack):
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(base_url=stack)
        yield context.new_page()
        browser.close()


def login(page, username, password):
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.stack button[type=submit]")


def submit_case(page, complaint, **vitals):
    page.goto("/cases/new")
    page.fill("input[name=age_years]", "58")
    page.fill("input[name=chief_complaint]", complaint)
    for name, value in vitals.items():
        if name in ("on_oxygen", "consciousness"):
            page.select_option(f"select[name={name}]", value)
        else:
            page.fill(f"input[name={name}]", str(value))
    page.click("form.intake button[type=submit]")
    page.wait_for_url("**/?highlight=*")


def test_nurse_submits_low_then_high_and_watches_both_analyzed(page):
    from playwright.sync_api import expect

    login(page, "admin", ADMIN_PASSWORD)
    page.goto("/admin/users")
    page.fill("form[action$='/admin/users'] input[name=username]", "nurse.kim")
    page.fill("form[action$='/admin/users'] input[name=password]", "nurse-password-1")
    page.select_option("form[action$='/admin/users'] select[name=role]", "nurse")
    page.click("form[action$='/admin/users'] button[type=submit]")
    expect(page.get_by_text("User nurse.kim (nurse) created.")).to_be_visible()
    page.click("text=Log out")

    login(page, "nurse.kim", "nurse-password-1")
    # A password an admin chose is changed at the first login, before anything else.
    page.wait_for_url("**/account/password**")
    page.fill("input[name=current_password]", "nurse-password-1")
    page.fill("input[name=new_password]", "nurse-own-password-2")
    page.fill("input[name=confirm_password]", "nurse-own-password-2")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(lambda url: "/account/password" not in url)
    submit_case(
        page,
        "ankle sprain",
        respiratory_rate=16,
        spo2=98,
        on_oxygen="air",
        systolic_bp=128,
        heart_rate=76,
        consciousness="A",
        temperature=36.7,
    )
    expect(page.get_by_text("provisional risk LOW, acuity 4 less-urgent")).to_be_visible()
    submit_case(
        page,
        "breathless and drowsy",
        respiratory_rate=29,
        spo2=94,
        on_oxygen="oxygen",
        systolic_bp=100,
        heart_rate=135,
        consciousness="V",
        temperature=39.3,
    )
    expect(page.get_by_text("provisional risk HIGH, acuity 2 emergent")).to_be_visible()

    rows = page.locator("#board tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("breathless and drowsy")
    expect(rows.nth(0)).to_have_attribute("data-acuity", "2")
    # "2* Emergent" while provisional, "2 Emergent" once analyzed (the worker is quick).
    expect(rows.nth(0).locator(".badge")).to_have_text(re.compile(r"^2\*? Emergent$"))
    expect(rows.nth(1)).to_contain_text("ankle sprain")
    expect(rows.nth(1)).to_have_attribute("data-acuity", "4")
    expect(page.locator("[data-count='2']")).to_have_text("1")
    expect(page.locator("[data-count='4']")).to_have_text("1")
    # Level 2 waits at most 15 minutes; the new case is highlighted, not yet overdue.
    expect(rows.nth(0)).to_have_class("level-2 highlight")
    expect(rows.nth(0).locator("td.waiting")).to_have_text(re.compile(r"^\d+ min / 15 min$"))

    expect(rows.nth(0)).to_have_attribute("data-status", "analyzed", timeout=30_000)
    expect(rows.nth(1)).to_have_attribute("data-status", "analyzed", timeout=30_000)

    rows.nth(0).locator("a").click()
    expect(page.locator("#case-status")).to_have_text("analyzed")
    expect(page.locator("#summary")).to_contain_text("NEWS2")
    expect(page.locator("#reasons")).to_contain_text("NEWS2")
    expect(page.locator("#recommendations")).to_contain_text("Consider immediate review")
