"""A case's whole care in Chromium, a nurse and a clinician at two terminals (two browser
contexts) with a real worker: acknowledge, re-triage with escalation, override, notes,
disposition, then the closed case found again by search."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD, case_body
from tests.support.browser import chromium, login, serve
from tests.support.cases import submit, wait_analyzed
from tests.support.services import ROOT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

SCREENSHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture
def terminals(app, staff) -> Iterator[dict[str, Any]]:
    """One logged-in page per role, each in its own browser context (its own cookies)."""
    with serve(app) as base, chromium() as browser:
        pages = {}
        for role in ("nurse", "clinician"):
            context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
            page = context.new_page()
            page.goto("/login")
            login(page, staff[role].username, PASSWORD)
            page.wait_for_url("**/")
            pages[role] = page
        yield pages


def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    target = Path(os.environ.get("MEDTRIAGE_SCREENSHOTS") or SCREENSHOTS)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, target / name)


def test_nurse_and_clinician_take_a_case_from_arrival_to_admission(
    terminals, client, staff, sessions, worker, tmp_path
):
    from playwright.sync_api import expect

    worker.start()
    note = "Cough and fever for 2 days. Denies chest pain. No rash."
    case = submit(client, staff["nurse"].token, case_body("low", patient_ref="MRN-4411", note=note))
    wait_analyzed(sessions, [case["id"]])
    nurse, clinician = terminals["nurse"], terminals["clinician"]
    url = f"/cases/{case['id']}"

    # The nurse takes the case into the minors area.
    nurse.goto(url)
    expect(nurse.locator("#care-status")).to_have_text("waiting")
    expect(nurse.locator("#form-override")).to_have_count(0)  # not a nurse's action
    expect(nurse.locator("#form-disposition option")).to_have_text(["left without being seen"])
    expect(nurse.locator("#negatives")).to_contain_text("No chest pain")
    nurse.select_option("#form-acknowledge select[name=area]", "minors")
    nurse.click("#form-acknowledge button")
    expect(nurse.get_by_text("Case acknowledged.")).to_be_visible()
    expect(nurse.locator("#care-status")).to_have_text("in assessment")
    expect(nurse.locator("#assigned-to")).to_have_text("nurse1")
    expect(nurse.locator("#area")).to_have_text("minors")

    # She re-triages: worse vital signs; the level rises at once and is flagged.
    form = nurse.locator("#form-observations")
    for name, value in {
        "respiratory_rate": 27,
        "spo2": 91,
        "systolic_bp": 95,
        "diastolic_bp": 60,
        "heart_rate": 124,
        "temperature_c": 39.1,
    }.items():
        form.locator(f"input[name={name}]").fill(str(value))  # fmt: skip
    form.locator("select[name=on_oxygen]").select_option("air")
    form.locator("select[name=consciousness]").select_option("A")
    form.locator("input[name=note]").fill("more breathless, rigors")
    form.locator("button").click()
    expect(nurse.get_by_text(re.compile(r"Re-triage recorded: provisional [1-3] "))).to_be_visible()
    expect(nurse.locator("#escalation")).to_contain_text("Escalated from 4 less-urgent")
    expect(nurse.locator("#news2-trend")).to_have_text(re.compile(r"^0 → \d+$"))
    wait_analyzed(sessions, [case["id"]])

    # The clinician sees the escalation at the other terminal and takes the case.
    clinician.goto(url)
    expect(clinician.locator("#escalation")).to_be_visible()
    expect(clinician.locator("#vitals tr.observation")).to_contain_text("124/min")
    clinician.click("#form-acknowledge button")
    expect(clinician.locator("#escalation")).to_have_count(0)
    expect(clinician.locator("#assigned-to")).to_have_text("clinician1")
    engine_level = clinician.locator("#engine-acuity").inner_text()

    # Override with a reason: shown beside the engine's level, which stays visible.
    clinician.select_option("#form-override select[name=acuity]", "2")
    clinician.click("#form-override button")  # no reason: the browser refuses the form
    expect(clinician.locator("#override")).to_have_count(0)
    clinician.fill("#form-override input[name=reason]", "septic-looking, mottled")
    clinician.click("#form-override button")
    expect(clinician.locator("#case-acuity")).to_have_text("2 emergent")
    expect(clinician.locator("#override")).to_contain_text("septic-looking, mottled")
    expect(clinician.locator("#engine-acuity")).to_have_text(engine_level)

    # The nurse's terminal shows the same case; she adds a note the clinician then reads.
    nurse.reload()
    expect(nurse.locator("#case-acuity")).to_have_text("2 emergent")
    expect(nurse.locator("#override")).to_contain_text("clinician1")
    nurse.fill("#form-notes textarea", "Blood cultures taken.")
    nurse.click("#form-notes button")
    expect(nurse.locator("#notes")).to_contain_text("nurse1: Blood cultures taken.")
    clinician.reload()
    expect(clinician.locator("#notes")).to_contain_text("Blood cultures taken.")
    screenshot(clinician, tmp_path, "case-lifecycle.png")

    # Admitted: off the board, the forms gone, the whole story on the timeline.
    clinician.select_option("#form-disposition select", "admit")
    clinician.click("#form-disposition button")
    expect(clinician.locator("#care-status")).to_have_text(re.compile(r"^disposed: admit by"))
    expect(clinician.locator("#form-acknowledge")).to_have_count(0)
    actions = clinician.locator("#timeline li").evaluate_all(
        "items => items.map(li => li.dataset.action)"
    )
    assert actions == [
        "case.submitted", "case.analyzed", "case.acknowledged", "case.retriaged",
        "case.escalated", "case.analyzed", "case.acknowledged", "case.overridden",
        "case.note_added", "case.disposed",
    ]  # fmt: skip
    expect(clinician.locator("#timeline")).to_contain_text("Disposition by clinician1: admit")
    board = nurse.request.get("/api/v1/board").json()
    assert case["id"] not in [row["id"] for row in board["rows"]]

    # Found again among the closed cases, by its reference.
    nurse.goto("/cases/search")
    nurse.fill("#search input[name=reference]", "MRN-4411")
    nurse.click("#search button")
    expect(nurse.locator("#search-count")).to_have_text("1 case.")
    expect(nurse.locator("#results tbody tr")).to_contain_text("admit")
    nurse.click("#results a")
    expect(nurse.locator("#care-status")).to_contain_text("admit")
