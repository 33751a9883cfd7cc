"""`medtriage export fhir`: the cases submitted in a window, one validated Bundle per line,
an audit event naming the cases (ids only), and a clear refusal of a bad window."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select, update

from shared.cli import main
from shared.db import AuditEvent, Case
from tests.conftest import case_body
from tests.support.cases import submit


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("MEDTRIAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MEDTRIAGE_INSTANCE_PATH", str(settings.instance_path))
    monkeypatch.setenv("MEDTRIAGE_FHIR_PATIENT_SYSTEM", "https://clinic.example/mrn")
    from shared.config import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def exported(sessions):
    with sessions() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.action == "fhir.exported")).all()


def test_export_writes_one_bundle_per_case_of_the_window_and_audits(
    cli_env, client, staff, sessions, tmp_path
):
    nurse = staff["nurse"].token
    old = submit(client, nurse, case_body("low", patient_ref="OLD-1"))["id"]
    new = [submit(client, nurse, case_body(r, patient_ref=f"P-{r}"))["id"] for r in ("high", "low")]
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with sessions.begin() as session:
        session.execute(update(Case).where(Case.public_id == old).values(created_at=yesterday))
    today = dt.datetime.now(dt.UTC).date().isoformat()
    out = tmp_path / "bundle.ndjson"

    result = CliRunner().invoke(main, ["export", "fhir", "--since", today, "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    bundles = [Bundle.model_validate_json(line) for line in lines]  # each one validates
    assert [b.identifier.value for b in bundles] == new  # oldest first, yesterday's left out
    refs = {
        e.resource.subject.identifier.value
        for b in bundles
        for e in b.entry
        if e.resource.subject.identifier is not None
        and e.resource.subject.identifier.system == "https://clinic.example/mrn"
    }
    assert refs == {"P-high", "P-low"}
    (event,) = exported(sessions)
    assert event.actor == "cli" and event.detail["cases"] == new and event.detail["count"] == 2
    assert "P-high" not in str(event.detail)  # references of cases, never of patients

    both = CliRunner().invoke(
        main, ["export", "fhir", "--since", yesterday.date().isoformat(), "--until", today,
               "-o", str(out)],
    )  # fmt: skip
    assert both.exit_code == 0
    assert len(out.read_text().splitlines()) == 3


def test_a_bad_window_is_refused_and_nothing_is_written(cli_env, sessions, tmp_path):
    (tmp_path / "exports").mkdir()
    out = tmp_path / "exports" / "bundle.ndjson"
    runner = CliRunner()
    backwards = runner.invoke(
        main,
        ["export", "fhir", "--since", "2026-12-10", "--until", "2026-12-01", "--out", str(out)],
    )
    assert backwards.exit_code == 2 and "must be after --since" in backwards.output
    garbled = runner.invoke(main, ["export", "fhir", "--since", "last week", "--out", str(out)])
    assert garbled.exit_code == 2 and "not a date or time" in garbled.output
    assert list(out.parent.iterdir()) == [] and exported(sessions) == []
