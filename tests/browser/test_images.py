"""A nurse attaches a chest X-ray on the intake form in Chromium; the board row shows the
image icon; once the worker has graded it, the case page shows the thumbnail and the verdict.
A file that is not an image is refused on the form with words a nurse understands."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from shared.db import Case
from tests.browser.test_board_acuity import screenshot
from tests.conftest import PASSWORD
from tests.support.browser import logged_in_page
from tests.support.cases import wait_analyzed
from tests.support.images import blurred, png_bytes, radiograph

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def page(app, staff) -> Iterator[Any]:
    with logged_in_page(app, staff["nurse"].username, PASSWORD) as nurse:
        yield nurse


def fill_case(page: Any, complaint: str) -> None:
    page.goto("/cases/new")
    page.fill("input[name=age_years]", "71")
    page.fill("input[name=chief_complaint]", complaint)
    page.select_option("select[name=image_type]", "xray")


def test_nurse_attaches_an_xray_and_sees_thumbnail_and_verdict(page, worker, sessions, tmp_path):
    # A file that is not an image: refused on the form, nothing saved, the reason shown.
    fill_case(page, "cough and fever")
    page.set_input_files(
        "#f-images", files=[{"name": "letter.pdf", "mimeType": "application/pdf",
                             "buffer": b"%PDF-1.4 referral letter"}]
    )  # fmt: skip
    page.click("form.intake button[type=submit]")
    error = page.locator("#err-images")
    assert "cannot be attached" in error.inner_text()
    with sessions() as session:
        assert session.scalar(select(Case)) is None

    fill_case(page, "cough and fever")
    picture = blurred(radiograph(512), 6)  # out of focus: unusable, the level unchanged
    page.set_input_files(
        "#f-images", files=[{"name": "cxr.png", "mimeType": "image/png",
                             "buffer": png_bytes(picture)}]
    )  # fmt: skip
    assert "cxr.png" in page.locator("#image-list").inner_text()
    page.click("form.intake button[type=submit]")
    page.wait_for_url("**/?highlight=*")
    icon = page.locator("tr .flag-image").first
    icon.wait_for(timeout=10_000)
    assert "1 image" in icon.inner_text()

    worker.start()
    with sessions() as session:
        case = session.scalar(select(Case))
    wait_analyzed(sessions, [case.public_id], timeout=90)
    page.goto(f"/cases/{case.public_id}")
    thumb = page.locator("#images img.thumb")
    thumb.wait_for()
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", thumb.element_handle())
    verdict = page.locator("#images .quality")
    assert verdict.get_attribute("data-verdict") == "unusable"
    assert "blurred" in page.locator("#images .quality-reasons").inner_text()
    assert "never changes the acuity" in page.locator("#images").inner_text()
    assert page.locator("#case-acuity").inner_text().startswith(str(int(case.provisional_acuity)))
    screenshot(page, tmp_path, "case-image-verdict.png")
