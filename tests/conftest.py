"""Fixtures: real Redis, real SQLite and PostgreSQL (migrated once a session), a real worker."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from shared import accounts
from shared.config import Settings
from shared.db import Base, Role, make_engine, make_session_factory
from shared.migrate import upgrade
from tests.support.services import PostgresDatabase, RedisServer, WorkerProcess
from web import create_app

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Each backend migrated once per session with the real Alembic scripts."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'medtriage.db'}"
        upgrade(Settings(database_url=url))
        yield url
        return
    database = PostgresDatabase()
    database.create()
    upgrade(Settings(database_url=database.url))
    yield database.url
    database.drop()


@pytest.fixture(scope="session")
def engines() -> Iterator[dict[str, Engine]]:
    cache: dict[str, Engine] = {}
    yield cache
    for engine in cache.values():
        engine.dispose()


def reset_tables(engine: Engine) -> None:
    names = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))
        conn.execute(
            text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64}
        )


@pytest.fixture
def settings(
    database_url: str, redis_server: RedisServer, tmp_path: Path, engines: dict[str, Engine]
) -> Settings:
    """Clean tables and an empty Redis for every test."""
    engine = engines.setdefault(database_url, make_engine(database_url))
    reset_tables(engine)
    if not redis_server.alive():
        redis_server.start()
    redis_server.client().flushall()
    return Settings(
        instance_path=tmp_path / "instance",
        database_url=database_url,
        redis_url=redis_server.url,
        secret_key="test-secret-key",
        lease_ttl_s=2,
        reconcile_interval_s=0.5,
        queued_grace_s=1.0,
        board_poll_ms=500,
    )


@pytest.fixture
def sessions(settings: Settings, engines: dict[str, Engine]) -> sessionmaker[Session]:
    return make_session_factory(engines[settings.database_url])


@dataclass
class Staff:
    username: str
    role: Role
    token: str


@pytest.fixture
def staff(sessions: sessionmaker[Session]) -> dict[str, Staff]:
    """One user per role, each with an API token; all share PASSWORD."""
    out = {}
    with sessions.begin() as session:
        for role in Role:
            user = accounts.create_user(session, f"{role.value}1", PASSWORD, role)
            out[role.value] = Staff(user.username, role, accounts.create_token(session, user, "t"))
    return out


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings, {"TESTING": True})
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class AuthActions:
    """Log in and out through the real forms, CSRF token included."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def csrf(self, path: str = "/login") -> str:
        match = CSRF_RE.search(self.client.get(path).get_data(as_text=True))
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, username: str, password: str = PASSWORD) -> Any:
        return self.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": self.csrf()}
        )

    def logout(self) -> Any:
        return self.client.post("/logout", data={"csrf_token": self.csrf("/")})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A real Celery worker process; the test decides when it starts."""
    process = WorkerProcess(settings, tmp_path)
    yield process
    process.stop()


def case_body(risk: str = "low", **overrides: Any) -> dict[str, Any]:
    """A valid CaseIn whose structured vitals give the asked-for provisional risk."""
    vitals = {
        "low": {
            "respiratory_rate": 16,
            "spo2": 98,
            "on_oxygen": False,
            "systolic_bp": 124,
            "heart_rate": 72,
            "consciousness": "A",
            "temperature_c": 36.8,
        },
        # Acuity 3 (NEWS2 5, RR in the danger zone) and acuity 2 (HR 132, shock index 1.32,
        # fever with tachycardia), so that neither reaches a level-1 criterion.
        "medium": {
            "respiratory_rate": 22,
            "spo2": 95,
            "on_oxygen": False,
            "systolic_bp": 105,
            "heart_rate": 95,
            "consciousness": "A",
            "temperature_c": 37.5,
        },
        "high": {
            "respiratory_rate": 28,
            "spo2": 93,
            "on_oxygen": False,
            "systolic_bp": 100,
            "heart_rate": 132,
            "consciousness": "A",
            "temperature_c": 39.4,
        },
    }[risk]
    body: dict[str, Any] = {
        "age_years": 54,
        "sex": "female",
        "chief_complaint": f"{risk} test complaint",
        "note": "Presents with symptoms.",
        "vitals": vitals,
    }
    body.update(overrides)
    return body
