"""Site calibration end to end: simulated outcomes in a real database, `medtriage calibrate`
train, report and activate (admin only, audited, gated on the outcome minimum), and the real
Celery worker scoring new cases with the active model: the probability and the three
features on the case page and the API, and a one-level nudge with a reason above the
threshold, recorded in the result."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from shared.calibration.sim_store import store_simulated
from shared.calibration.store import activate, load_dataset, os_user, save
from shared.calibration.training import train
from shared.cli import main
from shared.db import AuditEvent, Result
from shared.db.models import CalibrationModel
from tests.conftest import PASSWORD, case_body
from tests.integration.test_lifecycle import get_case
from tests.support.cases import submit, wait_analyzed

WINDOW = ("--since", "2000-01-01", "--until", "2100-01-01")
ASKED = PASSWORD + "\n"  # the admin's password, typed at the hidden prompt


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("MEDTRIAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MEDTRIAGE_INSTANCE_PATH", str(settings.instance_path))
    from shared.config import get_settings

    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_trains_reports_and_activates_only_above_the_event_minimum(
    cli_env, staff, sessions, tmp_path
):
    runner = CliRunner()
    simulated = runner.invoke(main, ["calibrate", "simulate", "--n", "700", "--seed", "3"])
    assert simulated.exit_code == 0, simulated.output
    events = int(re.search(r"(\d+) critical outcomes", simulated.output).group(1))
    assert 20 < events < 100

    trained = runner.invoke(main, ["calibrate", "train", *WINDOW])
    assert trained.exit_code == 0, trained.output
    assert f"version 1: 700 cases (0 left out), {events} critical outcomes" in trained.output
    assert "below the minimum of 100 critical outcomes" in trained.output

    refused = runner.invoke(main, ["calibrate", "activate", "1", "--admin", "admin1"], input=ASKED)
    assert refused.exit_code != 0
    assert f"trained on {events} critical outcomes; at least 100 are needed" in refused.output
    nurse = runner.invoke(main, ["calibrate", "activate", "1", "--admin", "nurse1"], input=ASKED)
    assert nurse.exit_code != 0 and "not an active admin" in nurse.output
    missing = runner.invoke(main, ["calibrate", "activate", "9", "--admin", "admin1"], input=ASKED)
    assert missing.exit_code != 0 and "no version 9" in missing.output
    with sessions() as session:
        assert not session.scalar(select(CalibrationModel.active))

    cli_env.setenv("MEDTRIAGE_CALIBRATION_MIN_EVENTS", "20")
    from shared.config import get_settings

    get_settings.cache_clear()
    wrong = runner.invoke(
        main, ["calibrate", "activate", "1", "--admin", "admin1"], input="not-the-password\n"
    )
    assert wrong.exit_code != 0 and "wrong password for 'admin1'" in wrong.output
    assert "not-the-password" not in wrong.output  # asked with the input hidden
    with sessions() as session:
        assert not session.scalar(select(CalibrationModel.active))
        actions = [e.action for e in session.scalars(select(AuditEvent))]
        assert "calibration.activated" not in actions
        (refusal,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "calibration.refused")
        )
        assert refusal.detail["admin"] == "admin1" and refusal.detail["os_user"] == os_user()
    activated = runner.invoke(
        main, ["calibrate", "activate", "1", "--admin", "admin1"], input=ASKED
    )
    assert activated.exit_code == 0, activated.output
    listed = runner.invoke(main, ["calibrate", "list"]).output
    assert listed.startswith("v1 active") and f"700 cases {events} outcomes" in listed

    out = tmp_path / "report.html"
    report = runner.invoke(main, ["calibrate", "report", "--out", str(out)])
    assert report.exit_code == 0 and "AUROC" in report.output
    page = out.read_text()
    assert page.count("<svg") == 2 and "Site calibration model v1" in page

    with sessions() as session:
        row = session.scalar(select(CalibrationModel))
        assert row.active and row.activated_by == "admin1" and row.n_events == events
        assert row.model["kind"] == "logistic" and len(row.features) == len(row.model["means"])
        actions = {e.action: e for e in session.scalars(select(AuditEvent))}
        assert actions["calibration.activated"].actor == "admin1"
        assert actions["calibration.activated"].detail["version"] == 1
        assert actions["calibration.activated"].detail["os_user"] == os_user()
        assert actions["calibration.trained"].detail["data_hash"] == row.data_hash
    wrong = runner.invoke(main, ["calibrate", "deactivate", "--admin", "admin1"], input="nope\n")
    assert wrong.exit_code != 0 and "wrong password" in wrong.output
    with sessions() as session:
        assert session.scalar(select(CalibrationModel.active))
    stopped = runner.invoke(main, ["calibrate", "deactivate", "--admin", "admin1"], input=ASKED)
    assert "stopped" in stopped.output
    bad = runner.invoke(
        main, ["calibrate", "train", "--since", "2100-01-01", "--until", "2000-01-01"]
    )
    assert bad.exit_code != 0 and "--since must be before --until" in bad.output
    empty = runner.invoke(
        main, ["calibrate", "train", "--since", "1990-01-01", "--until", "1991-01-01"]
    )
    assert empty.exit_code != 0 and "too few to train on" in empty.output


def test_the_worker_scores_with_the_active_model_and_nudges_one_level(
    client, staff, sessions, settings, worker
):
    with sessions.begin() as session:
        store_simulated(session, 3000, seed=5, days=200)
        now = dt.datetime.now(dt.UTC)
        data, _ = load_dataset(session, now - dt.timedelta(days=400), now, settings)
        assert data.events >= settings.calibration_min_events
        save(session, train(data, threshold=settings.calibration_threshold), actor="test")
    with sessions.begin() as session:
        activate(session, 1, admin="admin1", password=PASSWORD, settings=settings)

    worker.start()
    nurse = staff["nurse"].token
    high = submit(client, nurse, case_body("high"))["id"]
    low = submit(client, nurse, case_body("low"))["id"]
    wait_analyzed(sessions, [high, low])

    shown = get_case(client, nurse, high)
    calibration = shown["result"]["calibration"]
    assert calibration["name"] == "site-calibration v1" and calibration["version"] == 1
    assert calibration["probability"] > settings.calibration_threshold
    assert calibration["nudged"] and calibration["level_before"] == 2
    assert shown["acuity"] == 1 and shown["result"]["acuity"] == 1
    assert shown["result"]["pipeline_acuity"] == 2  # the engine's own level is kept beside it
    first = shown["result"]["assessment"]["reasons"][0]
    assert first["rule"] == "site_calibration" and first["acuity"] == 1
    assert "site-calibration v1" in first["detail"] and "site threshold 0.30" in first["detail"]
    assert len(calibration["top_features"]) == 3

    calm = get_case(client, nurse, low)
    assert calm["result"]["calibration"]["probability"] < settings.calibration_threshold
    assert not calm["result"]["calibration"]["nudged"] and calm["acuity"] == 4
    assert all(r["rule"] != "site_calibration" for r in calm["result"]["assessment"]["reasons"])

    with sessions() as session:
        versions = session.scalars(
            select(Result.calibration_version).where(Result.pipeline != "simulated")
        ).all()
        assert versions == [1, 1]
        analyzed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.analyzed")
        ).all()
        assert {e.detail["calibration_version"] for e in analyzed} == {1}

    from tests.conftest import AuthActions

    AuthActions(client).login(staff["clinician"].username)
    page = client.get(f"/cases/{high}").get_data(as_text=True)
    probability = re.search(r'id="calibration-probability">(\d+)%<', page).group(1)
    assert int(probability) == round(100 * calibration["probability"])
    assert re.search(r'id="calibration-nudge">level 2 made one more urgent: 1<', page)
    items = re.search(r'<ul id="calibration-features">(.*?)</ul>', page, re.S).group(1)
    assert items.count("<li>") == 3 and "log-odds" in items
    assert "the intake level stands" not in page
