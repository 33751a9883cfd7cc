"""The board API: ordering by acuity, missing vital signs, conflicts, counts, targets, 304."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from shared.db import Case
from shared.db.models import CareStatus, Disposition, User
from shared.schemas import Acuity
from tests.conftest import case_body
from tests.support.acuity import EngineFindings, hr_conflict
from tests.support.cases import submit
from web import create_app

CONFLICT_NOTE = "HR 150 on the monitor, looks unwell."


@pytest.fixture
def findings(monkeypatch):
    engine = EngineFindings()
    engine.install(monkeypatch)
    return engine


def board(client, token, etag=None):
    headers = {"Authorization": f"Bearer {token}"}
    if etag:
        headers["If-None-Match"] = etag
    return client.get("/api/v1/board", headers=headers)


def age(sessions, public_id, hours):
    with sessions.begin() as session:
        session.execute(
            update(Case)
            .where(Case.public_id == public_id)
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours))
        )


def test_board_orders_by_acuity_then_missing_vitals_then_waiting(client, staff, sessions, findings):
    token = staff["nurse"].token
    findings.set("cardiac arrest", acuity=Acuity.RESUSCITATION)
    findings.set("no obs taken", acuity=Acuity.LESS_URGENT, vitals_documented=False)
    findings.set("suture removal", acuity=Acuity.NON_URGENT)
    old_four = submit(client, token, case_body("low"))["id"]
    five = submit(client, token, case_body("low", chief_complaint="suture removal"))["id"]
    three = submit(client, token, case_body("medium"))["id"]
    undocumented = submit(client, token, case_body("low", chief_complaint="no obs taken"))["id"]
    new_four = submit(client, token, case_body("low"))["id"]
    two = submit(client, token, case_body("high"))["id"]
    one = submit(client, token, case_body("low", chief_complaint="cardiac arrest"))["id"]
    age(sessions, old_four, hours=3)  # the longest waiting of level 4, but documented

    body = board(client, token).get_json()
    assert [r["id"] for r in body["rows"]] == [
        one, two, three, undocumented, old_four, new_four, five
    ]  # fmt: skip
    assert body["counts"] == {"1": 1, "2": 1, "3": 1, "4": 3, "5": 1}
    rows = {r["id"]: r for r in body["rows"]}
    shown = [(r["acuity"], r["acuity_name"], r["risk_level"], r["target_minutes"])
             for r in body["rows"]]  # fmt: skip
    assert shown == [
        (1, "Resuscitation", "high", 0),
        (2, "Emergent", "high", 15),
        (3, "Urgent", "medium", 30),
        (4, "Less urgent", "low", 60),
        (4, "Less urgent", "low", 60),
        (4, "Less urgent", "low", 60),
        (5, "Non-urgent", "low", 120),
    ]
    assert [r["vitals_documented"] for r in body["rows"]].count(False) == 1
    assert rows[undocumented]["vitals_documented"] is False
    assert body["targets"] == {"1": 0, "2": 15, "3": 30, "4": 60, "5": 120}
    assert dt.datetime.fromisoformat(rows[old_four]["due_at"]) < dt.datetime.now(dt.UTC)
    assert all(r["provisional"] for r in body["rows"])


def test_row_shows_each_vital_sign_conflict_with_both_values(client, staff, findings):
    findings.set("palpitations", conflicts=[hr_conflict(CONFLICT_NOTE)])
    token = staff["nurse"].token
    body = case_body("low", chief_complaint="palpitations", note=CONFLICT_NOTE)
    body["vitals"]["heart_rate"] = 80
    case = submit(client, token, body)
    (row,) = board(client, token).get_json()["rows"]
    assert row["id"] == case["id"]
    assert [c["text"] for c in row["conflicts"]] == ["HR 150 in note vs 80 typed — re-measure"]
    assert row["conflicts"][0]["note"] == 150 and row["conflicts"][0]["structured"] == 80


def test_targets_come_from_the_settings(settings, staff):
    app = create_app(settings.model_copy(update={"target_minutes_3": 45}), {"TESTING": True})
    try:
        client = app.test_client()
        token = staff["nurse"].token
        submit(client, token, case_body("medium"))
        body = board(client, token).get_json()
        assert body["rows"][0]["target_minutes"] == 45 and body["targets"]["3"] == 45
    finally:
        app.extensions["db_engine"].dispose()


def test_unchanged_board_answers_304_and_a_change_answers_200(client, staff):
    token = staff["nurse"].token
    submit(client, token, case_body("low"))
    first = board(client, token)
    etag = first.headers["ETag"]
    again = board(client, token, etag)
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["Server-Timing"].startswith("db;dur=")
    submit(client, token, case_body("high"))
    changed = board(client, token, etag)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["counts"]["2"] == 1


def test_acuity_change_moves_the_etag_even_with_an_old_timestamp(client, staff, sessions):
    """Level 2 -> 1 keeps the risk level High; the board must still see the change."""
    token = staff["nurse"].token
    case = submit(client, token, case_body("high"))
    etag = board(client, token).headers["ETag"]
    with sessions.begin() as session:  # a late commit that kept its earlier updated_at
        session.execute(
            update(Case)
            .where(Case.public_id == case["id"])
            .values(acuity=Acuity.RESUSCITATION, updated_at=Case.updated_at)
        )
    changed = board(client, token, etag)
    assert changed.status_code == 200
    assert changed.get_json()["rows"][0]["acuity"] == 1
    with sessions() as session:
        assert session.scalar(select(Case.risk_level)).value == "high"


def test_moving_a_case_through_care_moves_the_etag(client, staff, sessions):
    """Assigning, moving area or overriding keeps the counts: the board must still see it."""
    token = staff["nurse"].token
    case = submit(client, token, case_body("medium"))
    etag = board(client, token).headers["ETag"]
    for values in (
        {"care_status": CareStatus.IN_ASSESSMENT},
        {"area": "majors"},
        {"assigned_to_id": user_id(sessions, "clinician1")},
        {"override_acuity": Acuity.EMERGENT, "acuity": Acuity.EMERGENT},
    ):
        with sessions.begin() as session:  # late commits that kept their earlier updated_at
            session.execute(
                update(Case)
                .where(Case.public_id == case["id"])
                .values(**values, updated_at=Case.updated_at)
            )
        changed = board(client, token, etag)
        assert changed.status_code == 200, values
        etag = changed.headers["ETag"]
    (row,) = changed.get_json()["rows"]
    assert (row["care_status"], row["area"], row["assigned_to"]) == (
        "in_assessment", "majors", "clinician1"
    )  # fmt: skip
    assert (row["acuity"], row["override_acuity"], row["engine_acuity"]) == (2, 2, 3)


def user_id(sessions, username):
    with sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def set_case(sessions, public_id, **values):
    with sessions.begin() as session:
        session.execute(update(Case).where(Case.public_id == public_id).values(**values))


@pytest.fixture
def paged(settings, staff):
    """A board of page size 10 (the smallest a site may set)."""
    app = create_app(settings.model_copy(update={"board_page_size": 10}), {"TESTING": True})
    yield app.test_client()
    app.extensions["db_engine"].dispose()


def test_more_cases_than_a_page_never_drop_a_level_1_or_2_and_say_how_many(paged, staff, sessions):
    token = staff["nurse"].token
    fours = [submit(paged, token, case_body("low"))["id"] for _ in range(25)]
    twos = [submit(paged, token, case_body("high"))["id"] for _ in range(12)]
    first = board(paged, token)
    body = first.get_json()
    assert body["counts"] == {"1": 0, "2": 12, "3": 0, "4": 25, "5": 0}
    # All twelve level-2 cases (more than a page) and the first page of level 4.
    assert [r["id"] for r in body["rows"]] == twos + fours[:10]
    assert (body["total"], body["matching"], body["shown"]) == (37, 37, 22)
    assert body["shown_counts"] == {"1": 0, "2": 12, "3": 0, "4": 10, "5": 0}

    more = paged.get("/api/v1/board?limit=20", headers={"Authorization": f"Bearer {token}"})
    assert [r["id"] for r in more.get_json()["rows"]] == twos + fours[:20]
    assert (
        more.get_json()["shown"] == 32
        and more.headers["ETag"] != first.headers["ETag"]
        and more.status_code == 200
    )


def test_disposed_cases_leave_the_board_and_the_counts(client, staff, sessions):
    token = staff["nurse"].token
    stays = submit(client, token, case_body("high"))["id"]
    leaves = submit(client, token, case_body("high"))["id"]
    etag = board(client, token).headers["ETag"]
    set_case(sessions, leaves, care_status=CareStatus.DISPOSED,
             disposition=Disposition.ADMIT, disposed_at=dt.datetime.now(dt.UTC))  # fmt: skip
    body = board(client, token, etag).get_json()
    assert [r["id"] for r in body["rows"]] == [stays]
    assert body["counts"]["2"] == 1 and body["total"] == 1


def filtered(client, token, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = client.get(f"/api/v1/board?{query}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_filters_narrow_levels_3_to_5_and_never_hide_levels_1_and_2(client, staff, sessions):
    token = staff["nurse"].token
    me = user_id(sessions, "clinician1")
    two_resus = submit(client, token, case_body("high"))["id"]
    three_majors = submit(client, token, case_body("medium"))["id"]
    four_minors = submit(client, token, case_body("low"))["id"]
    four_mine = submit(client, token, case_body("low"))["id"]
    set_case(sessions, two_resus, area="resus")
    set_case(sessions, three_majors, area="majors")
    set_case(sessions, four_minors, area="minors")
    set_case(sessions, four_mine, area="minors", assigned_to_id=me,
             care_status=CareStatus.IN_ASSESSMENT)  # fmt: skip

    minors = filtered(client, token, area="minors")
    assert [r["id"] for r in minors["rows"]] == [two_resus, four_minors, four_mine]
    assert [r["in_filter"] for r in minors["rows"]] == [False, True, True]
    assert (minors["total"], minors["matching"], minors["shown"]) == (4, 3, 3)
    assert minors["areas"][:4] == ["waiting room", "resus", "majors", "minors"]

    assert [r["id"] for r in filtered(client, token, level=3)["rows"]] == [two_resus, three_majors]
    waiting = filtered(client, token, status="waiting")
    assert [r["id"] for r in waiting["rows"]] == [two_resus, three_majors, four_minors]
    assessing = filtered(client, token, status="in_assessment")
    assert [r["id"] for r in assessing["rows"]] == [two_resus, four_mine]

    clinician = staff["clinician"].token
    mine = filtered(client, clinician, mine=1)
    assert [r["id"] for r in mine["rows"]] == [two_resus, four_mine]
    assert mine["rows"][1]["assigned_to"] == "clinician1"
    # "Mine" is the asker's: the nurse has no case of her own, only the level-2 one shows.
    assert [r["id"] for r in filtered(client, token, mine=1)["rows"]] == [two_resus]


def test_overdue_and_retriage_due_follow_each_levels_target(client, staff, sessions):
    token = staff["nurse"].token
    now = dt.datetime.now(dt.UTC)
    late_three = submit(client, token, case_body("medium"))["id"]
    fresh_three = submit(client, token, case_body("medium"))["id"]
    seen_four = submit(client, token, case_body("low"))["id"]
    # Arrived 45 min ago (target 30): overdue and due for re-triage.
    set_case(sessions, late_three, created_at=now - dt.timedelta(minutes=45),
             last_assessed_at=now - dt.timedelta(minutes=45))  # fmt: skip
    # In assessment for 90 min, last re-triaged 70 min ago (target 60): due, not overdue.
    set_case(sessions, seen_four, created_at=now - dt.timedelta(minutes=90),
             acknowledged_at=now - dt.timedelta(minutes=80),
             last_assessed_at=now - dt.timedelta(minutes=70),
             care_status=CareStatus.IN_ASSESSMENT)  # fmt: skip

    assert [r["id"] for r in filtered(client, token, status="overdue")["rows"]] == [late_three]
    due = filtered(client, token, status="retriage_due")
    assert [r["id"] for r in due["rows"]] == [late_three, seen_four]
    rows = {r["id"]: r for r in filtered(client, token)["rows"]}
    assert dt.datetime.fromisoformat(rows[late_three]["retriage_due_at"]) < now
    assert dt.datetime.fromisoformat(rows[fresh_three]["retriage_due_at"]) > now
    assert rows[seen_four]["acknowledged_at"] is not None


def test_every_reason_reaches_the_board_most_urgent_first(client, staff):
    token = staff["nurse"].token
    body = case_body("high", note="Chest pain radiating to the left arm, sweaty.")
    submit(client, token, body)
    (row,) = board(client, token).get_json()["rows"]
    assert len(row["reasons"]) >= 2
    assert row["reason"] == row["reasons"][0]["detail"]
    levels = [r["acuity"] for r in row["reasons"]]
    assert levels == sorted(levels)


@pytest.mark.parametrize(
    "query, message",
    [
        ("level=1", "levels 1 and 2 are always shown"),
        ("level=seven", "level must be 3, 4 or 5"),
        ("status=lost", "status must be one of"),
        ("limit=0", "limit must be a whole number"),
        ("mine=yes", "mine must be 0 or 1"),
    ],
)
def test_a_wrong_filter_is_a_400_in_words(client, staff, query, message):
    response = client.get(
        f"/api/v1/board?{query}", headers={"Authorization": f"Bearer {staff['nurse'].token}"}
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_change_below_the_page_answers_304_and_one_on_it_200(paged, staff, sessions):
    """The ETag is the answer's: a change the terminal cannot see sends nothing again."""
    token = staff["nurse"].token
    fours = [submit(paged, token, case_body("low"))["id"] for _ in range(15)]
    first = board(paged, token)
    assert [r["id"] for r in first.get_json()["rows"]] == fours[:10]
    set_case(sessions, fours[14], care_status=CareStatus.IN_ASSESSMENT)  # below the page
    unseen = board(paged, token, first.headers["ETag"])
    assert unseen.status_code == 304
    set_case(sessions, fours[3], care_status=CareStatus.IN_ASSESSMENT)  # on the page
    seen = board(paged, token, first.headers["ETag"])
    assert seen.status_code == 200
    assert seen.get_json()["rows"][3]["care_status"] == "in_assessment"
