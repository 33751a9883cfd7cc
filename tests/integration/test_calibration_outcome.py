"""The outcome site calibration learns from: an admission's level of care and a follow-up
recorded after the disposition, over the API and the case page, each an audit event; bad
input refused with a message and nothing changed."""

from __future__ import annotations

import re

import pytest

from shared.audit import verify_chain
from shared.calibration.outcome import critical_outcome
from shared.db import Case
from tests.conftest import CSRF_RE, case_body
from tests.integration.test_lifecycle import call, events, get_case
from tests.support.cases import submit


def test_admission_to_icu_and_a_follow_up_make_the_outcome(client, staff, sessions):
    nurse, clinician = staff["nurse"].token, staff["clinician"].token
    case = submit(client, nurse, case_body("medium"))["id"]

    early = call(client, clinician, case, "followup", {"outcome": "died_within_30_days"})
    assert early.status_code == 409 and "after the disposition" in early.get_json()["error"]
    wrong = call(
        client, clinician, case, "disposition", {"disposition": "discharge", "level_of_care": "icu"}
    )
    assert wrong.status_code == 422 and "admission only" in str(wrong.get_json()["fields"])
    assert get_case(client, nurse, case)["care"]["disposition"] is None

    admitted = call(
        client, clinician, case, "disposition", {"disposition": "admit", "level_of_care": "icu"}
    )
    assert admitted.status_code == 200
    care = get_case(client, nurse, case)["care"]
    assert care["level_of_care"] == "icu" and care["followup"] is None
    refused = call(client, nurse, case, "followup", {"outcome": "alive_at_30_days"})
    assert refused.status_code == 403
    bad = call(client, clinician, case, "followup", {"outcome": "fine"})
    assert bad.status_code == 422
    assert (
        call(client, clinician, case, "followup", {"outcome": "alive_at_30_days"}).status_code
        == 200
    )
    assert get_case(client, nurse, case)["care"]["followup"] == "alive_at_30_days"

    (disposed,) = events(sessions, "case.disposed")
    assert disposed.detail == {"disposition": "admit", "level_of_care": "icu"}
    (followed,) = events(sessions, "case.followed_up")
    assert followed.detail["outcome"] == "alive_at_30_days" and followed.actor == "clinician1"
    with sessions() as session:
        row = session.query(Case).one()
        assert critical_outcome(row, admission_counts=False) is True  # ICU
        assert verify_chain(session).ok


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_case_page_records_the_level_of_care_and_a_death_after_discharge(
    client, staff, auth, sessions
):
    case = submit(client, staff["nurse"].token, case_body("low"))["id"]
    auth.login(staff["clinician"].username)

    def form(action, **fields):
        page = client.get(f"/cases/{case}").get_data(as_text=True)
        token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
        data = {"csrf_token": CSRF_RE.search(page).group(1), "form_token": token, **fields}
        return client.post(f"/cases/{case}/{action}", data=data)

    page = client.get(f"/cases/{case}").get_data(as_text=True)
    assert 'name="level_of_care"' in page and 'id="form-followup"' not in page
    assert form("disposition", disposition="discharge", level_of_care="").status_code == 303
    closed = client.get(f"/cases/{case}").get_data(as_text=True)
    assert 'id="form-followup"' in closed
    with sessions() as session:
        assert critical_outcome(session.query(Case).one(), admission_counts=True) is False
    assert form("followup", outcome="").status_code == 422
    assert form("followup", outcome="died_within_30_days").status_code == 303
    shown = client.get(f"/cases/{case}").get_data(as_text=True)
    assert re.search(r'id="followup">died within 30 days<', shown)
    assert "Follow-up by clinician1: died within 30 days" in shown
    with sessions() as session:
        assert critical_outcome(session.query(Case).one(), admission_counts=False) is True
