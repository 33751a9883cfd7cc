"""What IT sees: no-store on patient data, /readyz, /metrics, the system page, file modes."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import socket
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.db import Case
from tests.conftest import AuthActions, Staff, case_body
from tests.support.cases import submit, wait_analyzed
from tests.support.services import (
    ROOT,
    RedisServer,
    WebServer,
    WorkerProcess,
    free_port,
    settings_env,
)
from web import create_app

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum over every sample of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= lab)


def scrape(client: FlaskClient) -> tuple[str, Samples]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.get_data(as_text=True)
    text = response.get_data(as_text=True)
    return text, parse(text)


@sqlite_only
def test_no_store_on_every_answer_with_patient_data(
    app: Flask, client: FlaskClient, staff: dict[str, Staff], auth: AuthActions
) -> None:
    body = case_body("high", patient_ref="MRN-NOSTORE-1", chief_complaint="crushing chest pain")
    case_id = submit(client, staff["nurse"].token, body)["id"]
    seen_patient = set()
    for who in ("nurse", "clinician", "auditor", "admin"):
        c = app.test_client()
        type(auth)(c).login(staff[who].username)
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static" or "GET" not in rule.methods:
                continue
            path = rule.rule.replace("<public_id>", case_id)
            for headers in ({}, {"Authorization": f"Bearer {staff[who].token}"}):
                response = c.get(path, headers=headers)
                what = f"{who}: GET {path} -> {response.status_code}"
                assert response.headers.get("Cache-Control") == "no-store", what
                if "crushing chest pain" in response.get_data(as_text=True):
                    seen_patient.add(rule.endpoint)
    # The routes that show this patient were among those checked.
    assert {"cases.case_page", "cases.api_case", "board.api_board"} <= seen_patient
    assert app.test_client().get("/static/app.css").headers.get("Cache-Control") != "no-store"


@sqlite_only
def test_readyz_names_what_is_down(
    settings: Settings, client: FlaskClient, redis_server: RedisServer
) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"ready": True, "failed": [], "database": "ok", "redis": "ok"}
    redis_server.stop()
    try:
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.get_json()["failed"] == ["redis"]
        assert down.get_json()["redis"].startswith("unreachable")
        assert client.get("/healthz").status_code == 200  # it can still take cases
    finally:
        redis_server.start()
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"
    app = create_app(settings.model_copy(update={"database_url": nowhere}), {"TESTING": True})
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["failed"] == ["database"]
    assert "127.0.0.1" not in answer.get_data(as_text=True)  # no URL, no password
    app.extensions["db_engine"].dispose()


@pytest.fixture
def admin_client(app: Flask, staff: dict[str, Staff], auth: AuthActions) -> FlaskClient:
    c = app.test_client()
    type(auth)(c).login(staff["admin"].username)
    return c


def test_metrics_and_system_page_follow_the_clinic(
    client: FlaskClient,
    admin_client: FlaskClient,
    staff: dict[str, Staff],
    auth: AuthActions,
    sessions: sessionmaker[Session],
    worker: WorkerProcess,
) -> None:
    _, start = scrape(client)  # request counts are kept per process, across tests
    token = staff["nurse"].token
    secret = "MRN-METRICS-7"
    made = [
        submit(client, token, case_body("high", patient_ref=secret)),
        submit(client, token, case_body("low")),
        submit(client, token, case_body("low")),
    ]
    lists = {1: "1-2", 2: "1-2", 3: "3", 4: "4", 5: "5"}
    expected_depth = {"1-2": 0, "3": 0, "4": 0, "5": 0}
    for case in made:
        expected_depth[lists[case["provisional_acuity"]]] += 1
    for _ in range(2):
        assert auth.login(staff["clinician"].username, "wrong password").status_code in (401, 429)
    # One low case has waited three hours: past every level's target.
    with sessions.begin() as session:
        session.execute(
            update(Case)
            .where(Case.public_id == made[1]["id"])
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=3))
        )

    text, before = scrape(client)
    assert secret not in text and "test complaint" not in text
    assert value(before, "medtriage_up", component="database") == 1
    assert value(before, "medtriage_up", component="redis") == 1
    for levels, depth in expected_depth.items():
        assert value(before, "medtriage_queue_depth", acuity=levels) == depth, levels
    assert total(before, "medtriage_cases", status="queued") == 3
    assert value(before, "medtriage_cases_overdue") == 1
    assert value(before, "medtriage_failed_logins_total") == 2
    assert value(before, "medtriage_workers_online") == 0
    assert value(before, "medtriage_analysis_duration_seconds_count") == 0
    page = admin_client.get("/admin/system").get_data(as_text=True)
    assert "No worker answered a ping" in page and "No result stored yet" in page

    worker.start()
    wait_analyzed(sessions, [c["id"] for c in made])
    _, after = scrape(client)
    assert total(after, "medtriage_cases", status="analyzed") == 3
    for case in made:
        level = str(case["provisional_acuity"])
        assert total(after, "medtriage_cases", status="analyzed", acuity=level) >= 1
    assert total(after, "medtriage_queue_depth") == 0
    assert value(after, "medtriage_workers_online") == 1
    assert value(after, "medtriage_analysis_duration_seconds_count") == 3
    assert value(after, "medtriage_analysis_duration_seconds_bucket", le="+Inf") == 3
    assert value(after, "medtriage_analysis_duration_seconds_sum") > 0
    submitted = "medtriage_http_requests_total"
    assert (
        total(after, submitted, endpoint="intake.api_submit")
        - total(start, submitted, endpoint="intake.api_submit")
        == 3
    )

    system = admin_client.get("/admin/system")
    assert system.status_code == 200
    page = system.get_data(as_text=True)
    assert "test-" in page and "@" in page, page[page.find("<h2>Workers") :][
        :600
    ]  # test-xxxxxx@host
    assert "clinical-text" in page and secret not in page
    assert 'data-levels="1-2"' in page


@sqlite_only
def test_metrics_only_for_this_machine_or_the_token(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"metrics_token": "m-token"}), {"TESTING": True})
    remote = app.test_client()
    remote.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert remote.get("/metrics").status_code == 403
    assert remote.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = remote.get("/metrics", headers={"Authorization": "Bearer m-token"})
    assert ok.status_code == 200 and "medtriage_cases_overdue" in ok.get_data(as_text=True)
    assert app.test_client().get("/metrics").status_code == 200  # 127.0.0.1
    app.extensions["db_engine"].dispose()


@sqlite_only
def test_system_page_for_admins_says_what_is_down(
    app: Flask, admin_client: FlaskClient, staff: dict[str, Staff], redis_server: RedisServer
) -> None:
    """Only admins; Redis down: the page still answers and says so (503, no 500)."""
    nurse = app.test_client()
    AuthActions(nurse).login(staff["nurse"].username)
    assert nurse.get("/admin/system").status_code == 403
    redis_server.stop()
    try:
        page = admin_client.get("/admin/system")
    finally:
        redis_server.start()
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert 'data-check="redis" class="error"' in text
    assert "Redis does not answer" in text


@pytest.fixture
def web_server(settings: Settings, tmp_path: Path) -> Iterator[WebServer]:
    own = settings.model_copy(update={"port": free_port(), "web_workers": 3, "web_threads": 2})
    server = WebServer(own, tmp_path)
    server.start()
    yield server
    server.stop()


@sqlite_only
def test_metrics_add_up_over_gunicorn_processes(web_server: WebServer) -> None:
    def ready(_: int) -> int:
        with urllib.request.urlopen(f"{web_server.url}/readyz", timeout=10) as answer:
            return int(answer.status)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        assert set(pool.map(ready, range(30))) == {200}
    with urllib.request.urlopen(f"{web_server.url}/metrics", timeout=10) as answer:
        samples = parse(answer.read().decode())
    # Whichever process answers the scrape, it counts the requests every process served.
    assert total(samples, "medtriage_http_requests_total", endpoint="health.readyz") == 30
    assert value(samples, "medtriage_up", component="database") == 1


@sqlite_only
def test_default_sqlite_database_is_private(tmp_path: Path, settings: Settings) -> None:
    """`medtriage db upgrade` with the default database, under a usual umask of 022."""
    instance = tmp_path / "site" / "instance"
    env = settings_env(settings.model_copy(update={"instance_path": instance}))
    env["MEDTRIAGE_DATABASE_URL"] = ""  # the default: SQLite in the instance folder
    subprocess.run(
        [sys.executable, "-m", "shared.cli", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        preexec_fn=lambda: os.umask(0o022),
    )
    database = instance / "medtriage.db"
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    for extra in instance.glob("medtriage.db-*"):  # -wal, -shm
        assert stat.S_IMODE(extra.stat().st_mode) == 0o600, extra.name
    # A database made readable by everyone (by an older version) is tightened at next start.
    database.chmod(0o644)
    subprocess.run(
        [sys.executable, "-m", "shared.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True
    )
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_tests_start_their_own_postgresql_when_none_answers() -> None:
    """A fresh machine: no PostgreSQL configured or listening. The tests' own cluster starts
    on a free port, takes a migrated database, and is gone when the process ends."""
    code = (
        "import glob, tests.support.services as s\n"
        "from shared.config import Settings\n"
        "from shared.migrate import upgrade\n"
        f"s.DEFAULT_PG_DSN = 'postgresql://postgres@127.0.0.1:{free_port()}/test'\n"
        "db = s.PostgresDatabase(); db.create(); upgrade(Settings(database_url=db.url))\n"
        "print(s.pg_admin_dsn()); print(glob.glob('/tmp/medtriage-pg-*'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MEDTRIAGE_TEST_PG"}
    env["PYTHONPATH"] = str(ROOT)
    before = set(Path("/tmp").glob("medtriage-pg-*"))
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    dsn = done.stdout.splitlines()[0]
    assert dsn.startswith("postgresql://postgres@127.0.0.1:") and ":5432/" not in dsn
    assert set(Path("/tmp").glob("medtriage-pg-*")) == before  # removed at exit
    port = int(dsn.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # and stopped
