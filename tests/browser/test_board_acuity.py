"""What a nurse sees in Chromium: rows by acuity with colour and words, "vital signs not
documented", a note/field conflict with both values, and the case page's acuity story."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from shared.db import Case
from shared.schemas import Acuity, PainAssessment
from tests.browser.test_board_flow import CHROMIUM, CHROMIUM_FLAGS, login
from tests.conftest import PASSWORD, case_body
from tests.support.acuity import EngineFindings, hr_conflict
from tests.support.cases import submit
from tests.support.services import ROOT, free_port

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

CONFLICT_NOTE = "Palpitations since noon. HR 150 on the monitor in the waiting room."


@pytest.fixture
def findings(monkeypatch) -> EngineFindings:
    engine = EngineFindings()
    engine.install(monkeypatch)
    return engine


@pytest.fixture
def server(app) -> Iterator[str]:
    """The app in this process (no worker): cases stay as intake left them."""
    port = free_port()
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(server):
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(base_url=server, viewport={"width": 1366, "height": 900})
        yield context.new_page()
        browser.close()


SCREENSHOTS = ROOT / "artifacts" / "screenshots"


def screenshot(page, tmp_path: Path, name: str, full_page: bool = True) -> Path:
    """Kept with the test's files and copied to artifacts/screenshots/ (the README names it;
    CI keeps it), or to $MEDTRIAGE_SCREENSHOTS when that is set."""
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=full_page)
    target = Path(os.environ.get("MEDTRIAGE_SCREENSHOTS") or SCREENSHOTS)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, target / name)
    return target / name


def test_board_and_case_page_show_acuity_missing_vitals_and_conflicts(
    page, client, staff, findings, sessions, tmp_path
):
    from playwright.sync_api import expect

    token = staff["nurse"].token
    findings.set("unresponsive, agonal breathing", acuity=Acuity.RESUSCITATION)
    findings.set("suture removal", acuity=Acuity.NON_URGENT)
    findings.set("dizzy", vitals_documented=False, acuity=Acuity.LESS_URGENT,
                 missing_vitals=["heart rate", "respiratory rate", "SpO2", "blood pressure"])  # fmt: skip
    findings.set(
        "palpitations",
        acuity=Acuity.URGENT,
        conflicts=[hr_conflict(CONFLICT_NOTE)],
        pain=PainAssessment(
            score=6, severity="moderate", location="central", chronic=False, source="vitals"
        ),
        confidence=0.7,
        confidence_note="Lower because a note value conflicts with a typed field.",
    )
    submit(client, token, case_body("low", chief_complaint="suture removal"))
    submit(client, token, case_body("low", chief_complaint="ankle sprain"))
    submit(client, token, case_body("low", chief_complaint="dizzy", note="", vitals={}))
    palpitations = case_body("low", chief_complaint="palpitations", note=CONFLICT_NOTE)
    palpitations["vitals"]["heart_rate"] = 80
    conflict_case = submit(client, token, palpitations)
    submit(client, token, case_body("high", chief_complaint="short of breath"))
    submit(client, token, case_body("low", chief_complaint="unresponsive, agonal breathing"))

    login(page, staff["nurse"].username, PASSWORD)
    page.goto("/")
    rows = page.locator("#board tbody tr")
    expect(rows).to_have_count(6)
    expected = [
        ("1", "unresponsive, agonal breathing", "1* Resuscitation"),
        ("2", "short of breath", "2* Emergent"),
        ("3", "palpitations", "3* Urgent"),
        ("4", "dizzy", "4* Less urgent"),
        ("4", "ankle sprain", "4* Less urgent"),
        ("5", "suture removal", "5* Non-urgent"),
    ]
    for index, (acuity, complaint, badge) in enumerate(expected):
        expect(rows.nth(index)).to_have_attribute("data-acuity", acuity)
        expect(rows.nth(index)).to_contain_text(complaint)
        expect(rows.nth(index).locator(".badge")).to_have_text(badge)
    expect(rows.nth(0)).to_contain_text("high")
    expect(rows.nth(2)).to_contain_text("medium")
    expect(rows.nth(5)).to_contain_text("low")
    expect(rows.nth(0).locator("td.waiting")).to_contain_text("/ immediate")
    expect(rows.nth(1).locator("td.waiting")).to_contain_text("/ 15 min")
    expect(rows.nth(5).locator("td.waiting")).to_contain_text("/ 120 min")
    expect(rows.nth(3).locator(".flag-missing")).to_have_text("♡ vitals needed")
    expect(rows.nth(3).locator(".flag-missing")).to_have_attribute(
        "title", "vital signs not documented"
    )
    expect(rows.nth(4).locator(".flag-missing")).to_have_count(0)
    expect(rows.nth(2).locator(".flag-conflict")).to_have_text(
        "⇄ conflicting vitals — re-measure: HR 150 in note vs 80 typed"
    )
    for level, count in {"1": "1", "2": "1", "3": "1", "4": "2", "5": "1"}.items():
        expect(page.locator(f"[data-count='{level}']")).to_have_text(count)

    # Overdue is its own black mark; the row keeps its level's colour.
    with sessions.begin() as session:
        row = session.scalar(select(Case).where(Case.chief_complaint == "palpitations"))
        row.created_at = row.created_at.replace(year=row.created_at.year - 1)
    page.reload()
    overdue = page.locator("#board tbody tr.overdue.level-3")
    expect(overdue.locator(".flag-overdue")).to_have_text("◷ overdue")
    colour = overdue.evaluate("tr => getComputedStyle(tr).backgroundColor")
    level_one = rows.nth(0).evaluate("tr => getComputedStyle(tr).backgroundColor")
    assert colour != level_one
    screenshot(page, tmp_path, "board.png")

    page.goto(f"/cases/{conflict_case['id']}")
    expect(page.locator("#case-acuity")).to_have_text("3 urgent")
    expect(page.locator("#provisional-acuity")).to_contain_text("3 urgent (medium risk)")
    expect(page.locator("#final-acuity")).to_have_text("analysis pending")
    expect(page.locator("#conflicts")).to_contain_text("HR 150 in note vs 80 typed — re-measure")
    screenshot(page, tmp_path, "case.png")


def test_analyzed_case_page_shows_every_reason_pain_and_confidence(
    page, client, staff, findings, settings, tmp_path
):
    from playwright.sync_api import expect

    from worker.runtime import build_runtime
    from worker.tasks import run_analysis

    findings.set("dizzy", vitals_documented=False, acuity=Acuity.LESS_URGENT,
                 missing_vitals=["heart rate", "respiratory rate", "SpO2", "blood pressure"],
                 confidence=0.6,
                 confidence_note="Lower because no vital signs are documented.")  # fmt: skip
    case = submit(client, staff["nurse"].token, case_body("low", chief_complaint="dizzy",
                                                          note="", vitals={}))  # fmt: skip
    runtime = build_runtime(settings.model_copy(update={"pipeline": "news2"}))
    try:
        with runtime.sessions() as session:
            case_id = session.scalar(select(Case.id).where(Case.public_id == case["id"]))
        assert run_analysis(runtime, case_id) == "4 less-urgent"
    finally:
        runtime.engine.dispose()
    login(page, staff["clinician"].username, PASSWORD)
    page.goto(f"/cases/{case['id']}")
    expect(page.locator("#case-status")).to_have_text("analyzed")
    expect(page.locator("#final-acuity")).to_have_text("4 less-urgent (low risk)")
    expect(page.locator("#vitals-missing")).to_contain_text("Vital signs not documented")
    expect(page.locator("#missing-vitals")).to_contain_text("heart rate, respiratory rate")
    expect(page.locator("#confidence")).to_have_text(
        "0.60 — Lower because no vital signs are documented."
    )
    screenshot(page, tmp_path, "case-analyzed.png")
