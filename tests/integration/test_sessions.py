"""Server-side login sessions on the real Redis: logout, lock, switch and disabling a user end
a session everywhere at once, an idle one expires (background polling does not keep it
alive), and a Redis outage neither stops intake nor revives a session ended during it."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy import select

from shared import accounts
from shared.db import AuditEvent, User
from tests.conftest import AuthActions
from web import create_app

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

COOKIE = "medtriage_session"


def copy_of_value(app, value):
    """Another browser holding the same session cookie (a stolen or left-behind one)."""
    other = app.test_client()
    other.set_cookie(COOKIE, value)
    return other


def logged_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200


def ended(client) -> bool:
    """Refused as a user notices it: to the login page, with the reason."""
    response = client.get("/cases/new")
    return response.status_code == 302 and "locked=ended" in response.headers["Location"]


def actions(sessions):
    with sessions() as session:
        return [(e.actor, e.action, e.detail) for e in session.scalars(select(AuditEvent))]


def test_logout_ends_the_session_for_every_copy_of_the_cookie(app, client, staff, auth, sessions):
    auth.login(staff["nurse"].username)
    stolen = client.get_cookie(COOKIE).value
    assert logged_in(copy_of_value(app, stolen))
    auth.logout()
    assert ended(copy_of_value(app, stolen))
    api = copy_of_value(app, stolen).get("/api/v1/board")
    assert api.status_code == 401 and "session ended" in api.get_json()["error"]
    assert ("nurse1", "user.logout", {"terminal": None}) in actions(sessions)


def test_disabling_a_user_ends_their_sessions_on_every_terminal(app, staff, sessions):
    desks = [app.test_client() for _ in range(2)]
    for desk in desks:
        AuthActions(desk).login(staff["nurse"].username)
        assert logged_in(desk)
    cookies = [desk.get_cookie(COOKIE).value for desk in desks]
    registry = app.extensions["login_sessions"]
    with sessions.begin() as session:
        uid = session.scalar(select(User.id).where(User.username == "nurse1"))
    assert registry.count_for_user(uid) == 2
    with sessions.begin() as session:
        accounts.set_active(session, uid, False, actor="admin1", sessions=registry)
    assert all(ended(desk) for desk in desks)
    assert registry.count_for_user(uid) == 0
    # Enabled again, the user logs in afresh: the old sessions do not come back.
    with sessions.begin() as session:
        accounts.set_active(session, uid, True, actor="admin1", sessions=registry)
    assert not any(logged_in(copy_of_value(app, value)) for value in cookies)
    assert [a for _, a, _ in actions(sessions)][-2:] == ["user.disabled", "user.enabled"]


@pytest.fixture
def quick_lock_app(settings):
    """Idle lock after 2.4 s, so that a test can wait for it."""
    app = create_app(settings.model_copy(update={"idle_lock_minutes": 0.04}), {"TESTING": True})
    yield app
    app.extensions["db_engine"].dispose()


def test_an_idle_session_expires_though_the_board_keeps_polling(quick_lock_app, staff):
    app = quick_lock_app
    polling, pinging = app.test_client(), app.test_client()
    for client in (polling, pinging):
        AuthActions(client).login(staff["nurse"].username)
    idle_cookie = polling.get_cookie(COOKIE).value
    deadline = time.monotonic() + 4.5
    while time.monotonic() < deadline:
        polling.get("/api/v1/board")  # the board's background poll: not the user
        pinged = pinging.get("/api/v1/session")  # a key pressed on that terminal
        assert pinged.status_code == 200 and pinged.get_json()["username"] == "nurse1"
        time.sleep(0.5)
    assert ended(copy_of_value(app, idle_cookie))
    assert copy_of_value(app, idle_cookie).get("/api/v1/board").status_code == 401
    assert logged_in(pinging)


def test_lock_and_switch_come_back_to_the_same_page_for_the_next_user(
    app, client, staff, auth, sessions
):
    auth.login(staff["nurse"].username)
    stolen = client.get_cookie(COOKIE).value
    response = client.post(
        "/logout",
        data={"csrf_token": auth.csrf("/"), "reason": "idle", "next": "/cases/new"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/cases/new&locked=idle"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "locked after 10 minutes without activity" in page
    assert ended(copy_of_value(app, stolen))
    # Whoever logs in next lands on the page that was open.
    again = client.post(
        "/login?next=/cases/new&locked=idle",
        data={
            "username": staff["clinician"].username,
            "password": "correct-horse-battery",
            "csrf_token": auth.csrf("/login?next=/cases/new&locked=idle"),
        },
    )
    assert again.headers["Location"] == "/cases/new"
    assert "clinician1 (clinician)" in client.get("/cases/new").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": auth.csrf("/"), "reason": "switch", "next": "/"})
    events = [(actor, action) for actor, action, _ in actions(sessions)]
    assert ("nurse1", "user.locked") in events and ("clinician1", "user.switched") in events


def test_terminal_name_is_kept_on_the_terminal_shown_and_audited(client, staff, auth, sessions):
    response = client.post(
        "/login",
        data={
            "username": staff["nurse"].username,
            "password": "correct-horse-battery",
            "terminal": "  Triage desk 2 ",
            "csrf_token": auth.csrf(),
        },
    )
    assert "medtriage_terminal=" in response.headers["Set-Cookie"]
    page = client.get("/").get_data(as_text=True)
    assert (
        '<span class="terminal" id="terminal-name" title="This terminal\'s name">Triage desk 2'
        in page
    )
    auth.logout()
    login_page = client.get("/login").get_data(as_text=True)
    assert 'value="Triage desk 2"' in login_page  # offered again at the next login
    assert ("nurse1", "user.login", {"terminal": "Triage desk 2"}) in actions(sessions)
    assert ("nurse1", "user.logout", {"terminal": "Triage desk 2"}) in actions(sessions)


def test_a_terminal_name_with_control_characters_is_refused(client, staff, auth):
    response = client.post(
        "/login",
        data={
            "username": staff["nurse"].username,
            "password": "correct-horse-battery",
            "terminal": "desk\u202e2",
            "csrf_token": auth.csrf(),
        },
    )
    assert response.status_code == 400
    assert "Terminal name: up to 40" in response.get_data(as_text=True)
    assert not logged_in(client)


def test_a_cookie_from_before_server_side_sessions_is_not_a_login(app, client, staff, sessions):
    with sessions() as session:
        uid = session.scalar(select(User.id).where(User.username == "nurse1"))
    with client.session_transaction() as cookie_session:
        cookie_session["uid"] = uid  # what a 12-hour cookie of the old kind carried
    assert ended(client)


def test_flushing_redis_logs_everyone_out(client, staff, auth, redis_server):
    auth.login(staff["nurse"].username)
    redis_server.client().flushall()
    assert ended(client)


def test_during_a_redis_outage_sessions_go_on_and_a_logout_still_counts(
    app, client, staff, auth, redis_server
):
    auth.login(staff["nurse"].username)
    stolen = client.get_cookie(COOKIE).value
    csrf = auth.csrf("/")
    # Frozen, not stopped: Redis keeps the session's record but does not answer.
    os.kill(redis_server.process.pid, signal.SIGSTOP)
    try:
        assert logged_in(client)  # the cookie's own clock while Redis cannot say
        client.post("/logout", data={"csrf_token": csrf})
        assert ended(copy_of_value(app, stolen))  # this process remembers the logout
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
    time.sleep(2.5)  # past the registry's back-off: the logout reaches Redis
    assert ended(copy_of_value(app, stolen))
    assert redis_server.client().keys("medtriage:session:*") == []
