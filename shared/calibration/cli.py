"""`medtriage calibrate`: train, report, activate and simulate site calibration models."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from sqlalchemy.orm import Session, sessionmaker

from shared.config import get_settings


def _sessions() -> sessionmaker[Session]:
    from shared.db import make_engine, make_session_factory

    return make_session_factory(make_engine(get_settings().sqlalchemy_url))


def _day(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


@click.group()
def calibrate() -> None:
    """Site calibration: a model learned from this site's own outcomes (README: Site
    calibration)."""


@calibrate.command("train")
@click.option("--since", type=click.DateTime(), required=True, help="first arrival day (UTC)")
@click.option("--until", type=click.DateTime(), required=True, help="end, not included (UTC)")
@click.option("--actor", default="cli", show_default=True, help="who trained it, for the audit")
def train_command(since: dt.datetime, until: dt.datetime, actor: str) -> None:
    """Train a new version on the disposed cases that arrived in [SINCE, UNTIL)."""
    from shared.calibration.store import load_dataset, save
    from shared.calibration.training import TrainingError, train

    settings = get_settings()
    since, until = _day(since), _day(until)
    if since >= until:
        raise click.ClickException("--since must be before --until")
    with _sessions().begin() as session:
        data, skipped = load_dataset(session, since, until, settings)
        try:
            trained = train(data, threshold=settings.calibration_threshold)
        except TrainingError as exc:
            raise click.ClickException(str(exc)) from exc
        row = save(session, trained, actor=actor)
        version = row.version
    logistic = trained.metrics["models"]["logistic"]
    click.echo(
        f"version {version}: {trained.n_cases} cases ({skipped} left out), "
        f"{trained.n_events} critical outcomes; test AUROC {logistic['auroc']:.3f}, "
        f"calibration slope {logistic['calibration_slope']:.2f}"
    )
    minimum = settings.calibration_min_events
    if trained.n_events < minimum:
        click.echo(f"below the minimum of {minimum} critical outcomes: it cannot be activated")


@calibrate.command("report")
@click.option("--version", type=int, default=None, help="default: the newest")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def report_command(version: int | None, out: Path | None) -> None:
    """Write the HTML report of a version (figures from its held-out months)."""
    from shared.calibration.report import render
    from shared.calibration.store import CalibrationError, get_model

    with _sessions()() as session:
        try:
            row = get_model(session, version)
        except CalibrationError as exc:
            raise click.ClickException(str(exc)) from exc
        page = render(row)
        out = out or Path(f"calibration-report-v{row.version}.html")
        logistic = row.metrics["models"]["logistic"]
        under = row.metrics["under_triage"]
    out.write_text(page, encoding="utf-8")
    click.echo(
        f"{out}: AUROC {logistic['auroc']:.3f}, calibration slope "
        f"{logistic['calibration_slope']:.2f}, under-triage {under['before']['rate']:.3f} "
        f"-> {under['after']['rate']:.3f}"
    )


@calibrate.command("list")
def list_command() -> None:
    """Every stored version, newest first."""
    from sqlalchemy import select

    from shared.db.models import CalibrationModel

    with _sessions()() as session:
        rows = session.scalars(select(CalibrationModel).order_by(CalibrationModel.version.desc()))
        for row in rows:
            mark = "active" if row.active else "      "
            click.echo(
                f"v{row.version} {mark} {row.trained_since:%Y-%m-%d}..{row.trained_until:%Y-%m-%d}"
                f" {row.n_cases} cases {row.n_events} outcomes"
            )


def _password(admin: str) -> str:
    # Prompted, never an option or an environment variable: whoever has the server's shell
    # or environment is not thereby the admin.
    return str(click.prompt(f"Password for {admin}", hide_input=True))


def _refused(admin: str, action: str, run_by: str) -> None:
    """A wrong admin password, audited in its own transaction (the action's rolled back)."""
    from shared import audit

    with _sessions().begin() as session:
        audit.record(
            session,
            actor=f"os:{run_by}",
            action="calibration.refused",
            detail={"admin": admin, "action": action, "why": "wrong password", "os_user": run_by},
        )


@calibrate.command("activate")
@click.argument("version", type=int)
@click.option("--admin", "admin", required=True, help="the admin who activates it (audited)")
def activate_command(version: int, admin: str) -> None:
    """Make VERSION score every new analysis (an admin's action, audited; the admin's
    password is asked for)."""
    from shared.calibration.store import CalibrationError, WrongAdminPassword, activate, os_user

    password, run_by = _password(admin), os_user()
    try:
        with _sessions().begin() as session:
            activate(session, version, admin=admin, password=password, settings=get_settings(),
                     run_by=run_by)  # fmt: skip
    except WrongAdminPassword as exc:
        _refused(admin, "activate", run_by)
        raise click.ClickException(str(exc)) from exc
    except CalibrationError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"version {version} is active")


@calibrate.command("deactivate")
@click.option("--admin", "admin", required=True, help="the admin who stops it (audited)")
def deactivate_command(admin: str) -> None:
    """Stop scoring cases with any model (the admin's password is asked for)."""
    from shared.calibration.store import CalibrationError, WrongAdminPassword, deactivate, os_user

    password, run_by = _password(admin), os_user()
    try:
        with _sessions().begin() as session:
            stopped = deactivate(session, admin=admin, password=password, run_by=run_by)
    except WrongAdminPassword as exc:
        _refused(admin, "deactivate", run_by)
        raise click.ClickException(str(exc)) from exc
    except CalibrationError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("no model was active" if stopped is None else f"version {stopped} stopped")


@calibrate.command("simulate")
@click.option("--n", "count", type=click.IntRange(1, 1_000_000), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--days", type=click.IntRange(1, 3650), default=365, show_default=True)
def simulate_command(count: int, seed: int, days: int) -> None:
    """Fill a development database with COUNT simulated, disposed cases and outcomes."""
    from shared.calibration.sim_store import store_simulated

    with _sessions().begin() as session:
        events = store_simulated(session, count, seed=seed, days=days)
    click.echo(f"{count} simulated cases over {days} days, {events} critical outcomes")
