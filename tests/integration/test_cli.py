"""The `medtriage` command: users, tokens, first admin, and a clear error without Redis."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from shared import accounts
from shared.cli import main
from shared.db import User

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("MEDTRIAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MEDTRIAGE_INSTANCE_PATH", str(settings.instance_path))
    from shared.config import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_users_and_tokens_create(cli_env, sessions):
    runner = CliRunner()
    made = runner.invoke(
        main, ["users", "create", "Nurse.A", "--role", "nurse", "--password", "long-enough-pw"]
    )
    assert made.exit_code == 0, made.output
    token = runner.invoke(main, ["tokens", "create", "nurse.a"])
    assert token.exit_code == 0 and token.output.startswith("mt_")
    with sessions() as session:
        user = accounts.user_for_token(session, token.output.strip())
        assert user is not None and user.username == "nurse.a" and user.role.value == "nurse"
        stored = session.scalar(select(User.password_hash).where(User.username == "nurse.a"))
    assert stored.startswith("$argon2id$")
    again = runner.invoke(
        main, ["users", "create", "nurse.a", "--role", "nurse", "--password", "long-enough-pw"]
    )
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(
        main, ["users", "create", "nurse.b", "--role", "nurse", "--password", "short"]
    )
    assert short.exit_code != 0 and "at least 10 characters" in short.output


def test_up_without_redis_says_how_to_get_it(cli_env, monkeypatch, tmp_path, sessions):
    from tests.support.services import free_port

    monkeypatch.setenv("MEDTRIAGE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server to start
    monkeypatch.setenv("MEDTRIAGE_ADMIN_PASSWORD", "first-admin-pw")
    result = CliRunner().invoke(main, ["up"])
    assert result.exit_code == 1
    assert (
        "Redis is not reachable" in result.output
        and "apt-get install redis-server" in result.output
    )
    # The database was still migrated and the first admin created, so a retry just works.
    with sessions() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
    assert admin is not None and admin.role.value == "admin"


def test_audit_verify_head_and_export(cli_env, settings, sessions):
    from sqlalchemy import update

    from shared import audit
    from shared.db import AuditEvent, AuditHead

    with sessions.begin() as session:
        for i in range(3):
            audit.record(session, actor="nurse1", action="test.event", detail={"i": i})
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify"])
    assert ok.exit_code == 0 and "audit trail intact: 3 events" in ok.output
    head = runner.invoke(main, ["audit", "head"]).output.strip()
    assert head.startswith("medtriage-audit-head seq=3 hash=")

    args = ["audit", "export", "--since", "2020-01-01", "--action", "test.", "--format", "json"]
    exported = runner.invoke(main, args)
    assert exported.exit_code == 0
    assert [e["detail"]["i"] for e in json.loads(exported.output)] == [0, 1, 2]
    bad = runner.invoke(main, ["audit", "export", "--since", "yesterday"])
    assert bad.exit_code == 2 and "--since" in bad.output

    # Delete the newest event and rewind the head: the kept head still says 3.
    with sessions.begin() as session:
        tip = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 2))
        session.query(AuditEvent).filter(AuditEvent.seq == 3).delete()
        session.execute(update(AuditHead).values(seq=2, hash=tip))
    caught = runner.invoke(main, ["audit", "verify", "--no-seal", "--head", head])
    assert caught.exit_code == 1
    assert "[truncated] the kept head records event 3" in caught.output
    assert "events 3 to 3 were deleted" in caught.output
    wrong = runner.invoke(main, ["audit", "verify", "--head", "nonsense"])
    assert wrong.exit_code == 2 and "not a printed head" in wrong.output
