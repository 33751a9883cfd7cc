"""The `medtriage` command: users, tokens, first admin, and a clear error without Redis."""

from __future__ import annotations

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
