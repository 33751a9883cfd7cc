"""A nurse enters typical cases by keyboard only, in Chromium: the cases land on the board, the
keystrokes and seconds are printed (issue 7: 151 keystrokes for 8 fields before), and the
browser catches an impossible or unusual value before the server is asked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.support.browser import logged_in_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

# A typical walk-in: 8 fields (age, sex, complaint, RR, SpO2, BP, HR, temperature).
TYPICAL = {
    "age_years": "67",
    "sex": "m",  # typed on the focused select: "male"
    "chief_complaint": "chest pain",
    "respiratory_rate": "18",
    "spo2": "96",
    "blood_pressure": ("142", "88"),
    "heart_rate": "92",
    "temperature": "37.4",
}
KLM_KEYSTROKE_S = 0.28  # Card, Moran & Newell: an average non-secretarial typist


@pytest.fixture
def page(app, staff) -> Iterator[Any]:
    with logged_in_page(app, staff["nurse"].username, PASSWORD) as nurse:
        yield nurse


class Keyboard:
    """Counts every key the nurse presses; focus moves only by Tab."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.keys = 0

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.keys += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.keys += len(text)

    def focused(self) -> str:
        name: str = self.page.evaluate("document.activeElement && document.activeElement.name")
        return name or ""

    def tab_to(self, name: str) -> None:
        for _ in range(60):
            if self.focused() == name:
                return
            self.press("Tab")
        raise AssertionError(f"Tab never reached {name}")


def enter_case(kb: Keyboard, case: dict[str, Any], complaint: str) -> None:
    one_bp_field = kb.page.locator("input[name=blood_pressure]").count() == 1
    for name, value in {**case, "chief_complaint": complaint}.items():
        if name == "blood_pressure" and not one_bp_field:
            kb.tab_to("systolic_bp")
            kb.type(value[0])
            kb.tab_to("diastolic_bp")
            kb.type(value[1])
            continue
        kb.tab_to(name)
        kb.type("/".join(value) if name == "blood_pressure" else value)


def test_typical_case_by_keyboard_only_lands_on_the_board(page):
    from playwright.sync_api import expect

    page.goto("/cases/new")
    started = time.monotonic()
    kb = Keyboard(page)
    enter_case(kb, TYPICAL, "chest pain")
    assert page.locator("select[name=sex]").input_value() == "male"
    kb.press("Enter")
    page.wait_for_url("**/?highlight=*")
    row = page.locator("#board tbody tr", has_text="chest pain")
    expect(row).to_have_count(1)
    seconds = time.monotonic() - started
    print(
        f"\nINTAKE keyboard-only: {kb.keys} keystrokes for {len(TYPICAL)} fields, "
        f"{seconds:.2f} s in the test, about {kb.keys * KLM_KEYSTROKE_S:.0f} s for a nurse "
        f"at {KLM_KEYSTROKE_S} s a keystroke"
    )
    expect(page.get_by_text("Case submitted: provisional risk")).to_be_visible()


def test_submit_and_start_the_next_case_by_keyboard(page):
    from playwright.sync_api import expect

    page.goto("/cases/new")
    kb = Keyboard(page)
    enter_case(kb, TYPICAL, "first of two")
    kb.press("Control+Enter")  # submit and start the next case
    page.wait_for_url("**/cases/new")
    expect(page.get_by_text("Case submitted: provisional risk")).to_be_visible()
    # The next case starts empty, with the cursor in its first field.
    expect(page.locator("input[name=chief_complaint]")).to_have_value("")
    assert kb.focused() == "patient_ref"
    enter_case(kb, {**TYPICAL, "sex": "f"}, "second of two")
    kb.press("Enter")
    page.wait_for_url("**/?highlight=*")
    expect(page.locator("#board tbody tr", has_text="first of two")).to_have_count(1)
    expect(page.locator("#board tbody tr", has_text="second of two")).to_have_count(1)


def test_browser_warns_and_refuses_before_the_server(page):
    from playwright.sync_api import expect

    page.goto("/cases/new")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.method) if r.method == "POST" else None)
    kb = Keyboard(page)
    kb.tab_to("heart_rate")
    kb.type("240")
    kb.press("Tab")
    hr = page.locator("input[name=heart_rate]")
    expect(page.locator("#warn-heart_rate")).to_have_text(
        "Heart rate 240 /min? That is unusual: check it."
    )
    expect(hr).not_to_have_attribute("aria-invalid", "true")  # unusual is allowed
    hr.fill("1200")
    kb.tab_to("temperature")
    expect(page.locator("#err-heart_rate")).to_have_text(
        "Heart rate over 300 /min is not possible; check the value."
    )
    expect(hr).to_have_attribute("aria-invalid", "true")
    assert "err-heart_rate" in hr.get_attribute("aria-describedby")
    kb.type("120F")  # over 113 F: the limit is given in the unit the nurse typed
    kb.press("Tab")
    expect(page.locator("input[name=temperature_unit][value=F]")).to_be_checked()
    expect(page.locator("#err-temperature")).to_have_text(
        "Temperature over 113 °F is not possible; check the value and the unit."
    )
    page.click("form.intake button[value=board]")
    # Nothing sent: the summary lists the problems and the first one (age) has the focus.
    expect(page.locator("#error-summary")).to_contain_text("Enter the age in years.")
    expect(page.locator("#error-summary")).to_contain_text("Heart rate over 300 /min")
    assert kb.focused() == "age_years"
    assert requests == []
    assert page.url.endswith("/cases/new")
