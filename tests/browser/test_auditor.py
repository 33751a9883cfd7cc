"""The auditor's path in Chromium: log in, land on the audit trail, filter by a case's
reference, page through, export the filtered view, follow the case link to the case."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from shared.db import AuditEvent, Case
from tests.conftest import PASSWORD, case_body
from tests.support.browser import chromium, login, serve
from tests.support.cases import submit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_auditor_filters_pages_exports_and_opens_the_case(app, client, staff, sessions):
    token = staff["nurse"].token
    cases = [submit(client, token, case_body("low", patient_ref=f"MRN-{i}")) for i in range(2)]
    target = cases[1]["id"]
    with sessions.begin() as session:
        case_id = session.scalar(select(Case.id).where(Case.public_id == target))
        for _ in range(120):  # more than a page of reads of the one case
            session.add(
                AuditEvent(actor="clinician1", action="case.viewed", case_id=case_id, detail={})
            )
    with serve(app) as base, chromium() as browser:
        context = browser.new_context(base_url=base, accept_downloads=True)
        page = context.new_page()
        page.goto("/login")
        login(page, staff["auditor"].username, PASSWORD)
        page.wait_for_url("**/audit/")
        assert "Hash chain intact" in page.inner_text("#chain")

        page.fill("input[name=case]", "MRN-1")
        page.select_option("select[name=action]", "case.viewed")
        page.click("#filters button[type=submit]")
        page.wait_for_url("**/audit/?*case=MRN-1*")
        assert page.inner_text("#event-count").startswith("120 events; page 1 of 2")
        assert page.locator("#events tbody tr").count() == 100
        page.click("a[rel=next]")
        page.wait_for_url("**page=2*")
        assert page.locator("#events tbody tr").count() == 20
        assert "page 2 of 2" in page.inner_text("#event-count")

        with page.expect_download() as download:
            page.click("#export-csv")
        rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
        assert len(rows) == 120 and {r["case"] for r in rows} == {target}
        assert {r["patient_ref"] for r in rows} == {"MRN-1"}

        link = page.locator("a.case-link").first
        assert link.inner_text() == "MRN-1"
        link.click()
        page.wait_for_url(f"**/cases/{target}")
        assert "MRN-1" in page.inner_text("h1")
        context.close()
    with sessions() as session:
        seen = session.execute(
            select(AuditEvent.action, AuditEvent.via).where(AuditEvent.actor == "auditor1")
        ).all()
    assert ("audit.exported", "form") in seen and ("case.viewed", "form") in seen
