"""Login security on the real Redis and databases: failed logins locked out per username and
per address (429 + Retry-After, counted in Redis), every failure an audit event, bounded
password hashing that never holds up intake, forced and voluntary password changes, admin
disable and reset, API tokens with a scope and an expiry that never drive the pages."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from sqlalchemy import select, update

from shared import accounts
from shared.cli import ensure_first_admin
from shared.db import ApiToken, AuditEvent, Case, User
from tests.conftest import PASSWORD, AuthActions, case_body
from web import create_app

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

NEW_PASSWORD = "a-brand-new-passphrase"


def events(sessions, action=None):
    with sessions() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return [(e.actor, e.action, e.detail) for e in session.scalars(query)]


def make_app(settings, **update):
    return create_app(settings.model_copy(update=update), {"TESTING": True})


@pytest.fixture
def strict_app(settings):
    """Three failures per username lock it for a minute; an address allows ten."""
    app = make_app(settings, login_limit_user="3 per minute", login_limit_address="10 per minute")
    yield app
    app.extensions["db_engine"].dispose()


def test_failed_logins_lock_the_username_for_a_while(strict_app, staff, sessions):
    auth = AuthActions(strict_app.test_client())
    for _ in range(3):
        assert auth.login("nurse1", "wrong-password-1").status_code == 401
    locked = auth.login("nurse1")  # the right password, but the username is locked
    assert locked.status_code == 429
    seconds = int(locked.headers["Retry-After"])
    assert 0 < seconds <= 60
    page = locked.get_data(as_text=True)
    assert "Too many failed logins. Try again in" in page
    assert auth.client.get("/").status_code == 302  # not logged in
    assert auth.login("nurse1").status_code == 429  # still locked; not a second audit event
    # Another user at the same terminal is not locked out.
    assert AuthActions(strict_app.test_client()).login("clinician1").status_code == 302
    failed = events(sessions, "user.login_failed")
    assert [(actor, d["reason"]) for actor, _, d in failed] == [("nurse1", "wrong password")] * 3
    assert all(d["address"] == "127.0.0.1" for _, _, d in failed)
    lockouts = events(sessions, "user.login_locked")
    assert len(lockouts) == 1
    actor, _, detail = lockouts[0]
    assert actor == "nurse1" and detail["by"] == "username" and detail["retry_after_s"] <= 60


def test_the_lockout_is_kept_in_redis_for_every_web_process(
    strict_app, settings, staff, redis_server
):
    for _ in range(3):
        AuthActions(strict_app.test_client()).login("nurse1", "wrong-password-1")
    other_process = make_app(settings, login_limit_user="3 per minute")
    try:
        assert AuthActions(other_process.test_client()).login("nurse1").status_code == 429
        assert redis_server.client().keys("*medtriage:login*user:nurse1*")
        redis_server.client().flushall()  # the count lives in Redis, nowhere else
        assert AuthActions(other_process.test_client()).login("nurse1").status_code == 302
    finally:
        other_process.extensions["db_engine"].dispose()


def test_failed_logins_from_one_address_lock_it_out(settings, staff, sessions):
    app = make_app(settings, login_limit_user="50 per minute", login_limit_address="4 per minute")
    auth = AuthActions(app.test_client())
    for number in range(4):
        assert auth.login(f"nobody{number}", "guess-guess-guess").status_code == 401
    locked = auth.login("clinician1")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert [a for a, _, _ in events(sessions, "user.login_failed")] == ["anonymous"] * 4
    [(_, _, detail)] = events(sessions, "user.login_locked")
    assert detail["by"] == "address" and detail["address"] == "127.0.0.1"


def test_a_password_typed_as_the_username_is_not_recorded(client, auth, staff, sessions):
    assert auth.login(PASSWORD, PASSWORD).status_code == 401
    assert auth.login("nurse1\x00\u202e").status_code == 401  # odd input: 4xx, no 500
    assert auth.login("nurse1", "\x00\u202e").status_code == 401
    assert PASSWORD not in repr(events(sessions))
    assert [(a, d["reason"]) for a, _, d in events(sessions, "user.login_failed")] == [
        ("anonymous", "unknown user"),
        ("anonymous", "malformed username"),
        ("nurse1", "wrong password"),
    ]


def test_a_disabled_users_failed_login_says_why_in_the_audit_trail(auth, staff, sessions):
    with sessions.begin() as session:
        session.execute(update(User).where(User.username == "nurse1").values(active=False))
    assert auth.login("nurse1").status_code == 401
    [(actor, _, detail)] = events(sessions, "user.login_failed")
    assert actor == "nurse1" and detail["reason"] == "disabled user"


def test_when_every_hashing_slot_is_taken_logins_wait_briefly_and_intake_goes_on(
    settings, staff, sessions
):
    app = make_app(settings, password_hash_slots=1, password_hash_wait_s=0.05)
    login = AuthActions(app.test_client())
    csrf = login.csrf()
    with app.extensions["hash_slots"].hold():  # a long password check holds the only slot
        busy = login.client.post(
            "/login", data={"username": "nurse1", "password": PASSWORD, "csrf_token": csrf}
        )
        intake = app.test_client().post(
            "/api/v1/cases",
            json=case_body("high"),
            headers={"Authorization": f"Bearer {staff['nurse'].token}"},
        )
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
    assert "Too many logins at once; try again in a moment." in busy.get_data(as_text=True)
    assert intake.status_code == 202
    assert events(sessions, "user.login_failed") == []  # busy is not a failed login
    assert login.login("nurse1").status_code == 302  # the slot is free again


def test_hash_slots_let_only_so_many_hashes_run_at_once(database_url):
    slots = accounts.HashSlots(2, wait_s=0.05)
    inside, peak, lock = 0, 0, threading.Lock()
    busy = []
    go = threading.Barrier(6)

    def attempt():
        nonlocal inside, peak
        go.wait()
        try:
            with slots.hold():
                with lock:
                    inside += 1
                    peak = max(peak, inside)
                accounts.hash_password("x" * 12)
                with lock:
                    inside -= 1
        except accounts.HashingBusy:
            busy.append(1)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak <= 2 and busy  # at most two at once; the rest were told to come back


# Passwords: first admin, forced change, own change, admin reset, admin disable.


def test_the_first_admins_generated_password_must_be_changed(settings, client, sessions):
    ensure_first_admin(settings, None)
    with sessions() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert admin.must_change_password
    with sessions.begin() as session:
        session.execute(
            update(User)
            .where(User.username == "admin")
            .values(password_hash=accounts.hash_password(PASSWORD))
        )
    auth = AuthActions(client)
    response = auth.login("admin")
    assert response.headers["Location"] == "/account/password?next=/"
    for page in ("/", "/admin/users", "/cases/new"):
        moved = client.get(page)
        assert moved.status_code == 302 and moved.headers["Location"].startswith(
            "/account/password"
        ), page
    api = client.get("/api/v1/board")
    assert api.status_code == 403 and "Change your password first" in api.get_json()["error"]
    assert "Your password was generated or reset" in client.get("/account/password").get_data(
        as_text=True
    )


def change(client, auth, current, new, confirm=None, next_page=""):
    return client.post(
        "/account/password" + next_page,
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
            "csrf_token": auth.csrf("/account/password"),
        },
    )


def test_changing_ones_password_ends_the_other_sessions(app, client, auth, staff, sessions):
    auth.login("nurse1")
    elsewhere = app.test_client()
    AuthActions(elsewhere).login("nurse1")
    wrong = change(client, auth, "not-my-password", NEW_PASSWORD)
    assert wrong.status_code == 422 and "current password is wrong" in wrong.get_data(as_text=True)
    differ = change(client, auth, PASSWORD, NEW_PASSWORD, confirm="something-else-entirely")
    assert differ.status_code == 422 and "confirmation differ" in differ.get_data(as_text=True)
    short = change(client, auth, PASSWORD, "short")
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    done = change(client, auth, PASSWORD, NEW_PASSWORD)
    assert done.status_code == 302
    assert client.get("/").status_code == 200  # this terminal stays logged in
    assert elsewhere.get("/cases/new").status_code == 302  # the other one is logged out
    auth.logout()
    assert auth.login("nurse1").status_code == 401
    assert auth.login("nurse1", NEW_PASSWORD).status_code == 302
    assert [a for a, _, _ in events(sessions, "user.password_changed")] == ["nurse1"]
    assert [d["reason"] for _, _, d in events(sessions, "user.login_failed")] == [
        "wrong password",  # the wrong current password
        "wrong password",  # the old password after the change
    ]


@pytest.fixture
def admin_client(app, staff):
    client = app.test_client()
    AuthActions(client).login("admin1")
    return client


def user_id(sessions, username):
    with sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def test_admin_resets_a_password_the_user_must_then_change(app, admin_client, staff, sessions):
    nurse = app.test_client()
    AuthActions(nurse).login("nurse1")
    admin = AuthActions(admin_client)
    reset = admin_client.post(
        f"/admin/users/{user_id(sessions, 'nurse1')}/password",
        data={"csrf_token": admin.csrf("/admin/users")},
    )
    assert reset.status_code == 200
    temporary = re.search(r'id="temporary-password">([^<]+)<', reset.get_data(as_text=True))[1]
    assert nurse.get("/cases/new").status_code == 302  # the nurse's session ended
    again = AuthActions(app.test_client())
    assert again.login("nurse1").status_code == 401  # the old password is gone
    assert again.login("nurse1", temporary).headers["Location"].startswith("/account/password")
    assert change(again.client, again, temporary, NEW_PASSWORD).status_code == 302
    assert again.client.get("/cases/new").status_code == 200
    assert ("admin1", "user.password_reset", {"username": "nurse1"}) in events(sessions)
    assert temporary not in repr(events(sessions))


def test_admin_disables_and_enables_a_user(app, admin_client, staff, sessions):
    nurse = app.test_client()
    AuthActions(nurse).login("nurse1")
    admin = AuthActions(admin_client)
    uid = user_id(sessions, "nurse1")
    off = admin_client.post(
        f"/admin/users/{uid}/active", data={"active": "0", "csrf_token": admin.csrf("/admin/users")}
    )
    assert off.status_code == 302
    assert nurse.get("/cases/new").status_code == 302
    token = app.test_client().get(
        "/api/v1/board", headers={"Authorization": f"Bearer {staff['nurse'].token}"}
    )
    assert token.status_code == 401
    assert AuthActions(app.test_client()).login("nurse1").status_code == 401
    admin_client.post(
        f"/admin/users/{uid}/active", data={"active": "1", "csrf_token": admin.csrf("/admin/users")}
    )
    assert AuthActions(app.test_client()).login("nurse1").status_code == 302
    myself = admin_client.post(
        f"/admin/users/{user_id(sessions, 'admin1')}/active",
        data={"active": "0", "csrf_token": admin.csrf("/admin/users")},
    )
    assert myself.status_code == 422 and "cannot disable yourself" in myself.get_data(as_text=True)
    changes = [e for e in events(sessions) if e[1] in ("user.disabled", "user.enabled")]
    assert changes == [
        ("admin1", "user.disabled", {"username": "nurse1"}),
        ("admin1", "user.enabled", {"username": "nurse1"}),
    ]


def test_a_user_created_by_an_admin_chooses_their_own_password(app, admin_client, staff):
    admin = AuthActions(admin_client)
    made = admin_client.post(
        "/admin/users",
        data={
            "username": "nurse2",
            "password": "typed-by-the-admin",
            "role": "nurse",
            "csrf_token": admin.csrf("/admin/users"),
        },
    )
    assert made.status_code == 302
    fresh = AuthActions(app.test_client())
    assert (
        fresh.login("nurse2", "typed-by-the-admin")
        .headers["Location"]
        .startswith("/account/password")
    )


# API tokens: scope, expiry, never a page.


def make_token(sessions, username, scope, days=30):
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == username))
        return accounts.create_token(session, user, "t", scope=scope, days=days)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_read_token_reads_and_may_not_submit(client, staff, sessions):
    token = make_token(sessions, "nurse1", "read")
    assert client.get("/api/v1/board", headers=bearer(token)).status_code == 200
    refused = client.post("/api/v1/cases", json=case_body("low"), headers=bearer(token))
    assert refused.status_code == 403
    assert refused.get_json()["error"] == (
        "This API token's scope is 'read'; this request needs scope 'submit'."
    )
    with sessions() as session:
        assert session.scalars(select(Case)).all() == []


def test_a_submit_token_submits_and_reads(client, staff, sessions):
    token = make_token(sessions, "nurse1", "submit")
    made = client.post("/api/v1/cases", json=case_body("low"), headers=bearer(token))
    assert made.status_code == 202
    read = client.get(f"/api/v1/cases/{made.get_json()['id']}", headers=bearer(token))
    assert read.status_code == 200


def test_an_expired_token_is_refused_with_its_date(client, staff, sessions):
    token = make_token(sessions, "nurse1", "submit")
    past = dt.datetime(2020, 1, 2, 3, 4, tzinfo=dt.UTC)
    with sessions.begin() as session:
        session.execute(update(ApiToken).values(expires_at=past))
    refused = client.get("/api/v1/board", headers=bearer(token))
    assert refused.status_code == 401
    assert "expired at 2020-01-02 03:04 UTC" in refused.get_json()["error"]
    with sessions() as session:
        assert accounts.user_for_token(session, token) is None


def test_only_an_admin_has_an_admin_token_and_expiry_is_bounded(staff, sessions):
    for username, scope, days in (("nurse1", "admin", 30), ("admin1", "admin", 0),
                                  ("admin1", "admin", 366), ("admin1", "root", 30)):  # fmt: skip
        with pytest.raises(accounts.AccountError):
            make_token(sessions, username, scope, days)
    assert make_token(sessions, "admin1", "admin", 365).startswith("mt_")


def test_an_api_token_never_drives_a_page_or_form(client, staff, sessions):
    headers = bearer(staff["nurse"].token)
    for page in ("/", "/cases/new", "/account/password", "/admin/users"):
        response = client.get(page, headers=headers)
        assert response.status_code == 302 and "/login" in response.headers["Location"], page
    # Even with a valid form token, an admin's API token creates no user through the form.
    csrf = AuthActions(client).csrf()
    form = client.post(
        "/admin/users",
        data={"username": "x9", "password": "y" * 12, "role": "admin", "csrf_token": csrf},
        headers=bearer(make_token(sessions, "admin1", "admin")),
    )
    assert form.status_code == 302 and "/login" in form.headers["Location"]
    with sessions() as session:
        assert session.scalar(select(User).where(User.username == "x9")) is None


def test_admin_page_creates_a_token_with_scope_and_expiry(app, admin_client, staff, sessions):
    admin = AuthActions(admin_client)
    made = admin_client.post(
        "/admin/tokens",
        data={
            "username": "nurse1",
            "name": "lab feed",
            "scope": "read",
            "days": "7",
            "csrf_token": admin.csrf("/admin/users"),
        },
    )
    token = re.search(r'id="new-token">([^<]+)<', made.get_data(as_text=True))[1]
    with sessions() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == "lab feed"))
        assert row.scope.value == "read"
        left = row.expires_at - dt.datetime.now(dt.UTC)
        assert dt.timedelta(days=6, hours=23) < left <= dt.timedelta(days=7)
    assert app.test_client().get("/api/v1/board", headers=bearer(token)).status_code == 200
    bad = admin_client.post(
        "/admin/tokens",
        data={"username": "nurse1", "scope": "admin", "days": "7",
              "csrf_token": admin.csrf("/admin/users")},
    )  # fmt: skip
    assert bad.status_code == 422 and "only for an admin" in bad.get_data(as_text=True)
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert "lab feed" in page and ">read<" in page


# Migration 0004 and the command line.


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0004_keeps_existing_tokens_working_for_90_days(database_url, backend, tmp_path):
    from sqlalchemy import text

    from shared.config import Settings
    from shared.db import make_engine
    from shared.migrate import upgrade
    from tests.support.services import PostgresDatabase

    database = PostgresDatabase() if backend == "postgresql" else None
    url = f"sqlite:///{tmp_path / 'old.db'}"
    if database is not None:
        database.create()
        url = database.url
    engine = make_engine(url)
    try:
        upgrade(Settings(database_url=url), "0003")
        now = dt.datetime.now(dt.UTC)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, username, password_hash, role, active, created_at) "
                    "VALUES (1, 'nurse1', :h, 'nurse', true, :now)"
                ),
                {"h": accounts.hash_password(PASSWORD), "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) "
                    "VALUES (1, 'old', :digest, 'mt_old', :now)"
                ),
                {"digest": accounts._digest("mt_old-token"), "now": now},
            )
        upgrade(Settings(database_url=url))
        with sessions_for(engine)() as session:
            found = accounts.check_token(session, "mt_old-token")
            assert found is not None and found.principal.scope.value == "submit"
            assert dt.timedelta(days=89) < found.expires_at - now <= dt.timedelta(days=90, hours=1)
            user = session.scalar(select(User))
            assert user.must_change_password is False
    finally:
        engine.dispose()
        if database is not None:
            database.drop()


def sessions_for(engine):
    from shared.db import make_session_factory

    return make_session_factory(engine)


def test_cli_tokens_with_scope_and_days_and_a_password_reset(
    settings, staff, sessions, monkeypatch
):
    from click.testing import CliRunner

    from shared.cli import main
    from shared.config import get_settings

    monkeypatch.setenv("MEDTRIAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MEDTRIAGE_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("MEDTRIAGE_INSTANCE_PATH", str(settings.instance_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        made = runner.invoke(main, ["tokens", "create", "nurse1", "--scope", "read", "--days", "7"])
        assert made.exit_code == 0, made.output
        refused = runner.invoke(main, ["tokens", "create", "nurse1", "--scope", "admin"])
        assert refused.exit_code != 0 and "only for an admin" in refused.output
        reset = runner.invoke(main, ["users", "reset-password", "nurse1"])
        assert reset.exit_code == 0, reset.output
        temporary = reset.output.strip().splitlines()[-1]
    finally:
        get_settings.cache_clear()
    with sessions() as session:
        found = accounts.check_token(session, made.output.strip())
        assert found.principal.scope.value == "read"
        assert found.principal.must_change_password  # the reset applies to its tokens too
        assert accounts.authenticate(session, "nurse1", temporary) is not None


def test_an_hl7_sender_that_comes_first_does_not_stop_the_first_admin(settings, sessions):
    """Registration may send a message before anyone set MedTriage up: the sender's system
    account is not a person, and the first admin is still created."""
    from shared.interop.hl7_cases import system_user

    system_user(sessions, "hl7:REGISTRATION")
    ensure_first_admin(settings, None)
    with sessions() as session:
        assert session.scalar(select(User).where(User.username == "admin")) is not None
    ensure_first_admin(settings, None)  # and only once
    with sessions() as session:
        assert accounts.count_users(session) == 1
