"""`medtriage export fhir`: the cases submitted in a window as FHIR Bundles, one per line
(NDJSON). The export is an audit event itself, recorded before anything is written."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from shared.config import get_settings

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def moment(text: str, option: str, end: bool = False) -> dt.datetime:
    """A date is the whole UTC day (from its start, or up to the next day's); a time without
    a zone is UTC, as the audit trail keeps times."""
    value = text.strip()
    try:
        if DATE.match(value):
            day = dt.date.fromisoformat(value) + dt.timedelta(days=1 if end else 0)
            return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date or time (2026-12-10 or 2026-12-10T08:00)", param_hint=option
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


@click.group()
def export() -> None:
    """Export cases in a standard format."""


@export.command("fhir")
@click.option("--since", required=True, help="Cases submitted from this date or time (UTC).")
@click.option("--until", help="Up to this date (the whole day) or time; default: now.")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="NDJSON file to write, one Bundle per line ('-' for stdout).",
)
def export_fhir(since: str, until: str | None, out: Path) -> None:
    """Write each case submitted in [since, until) as a FHIR R4 Bundle, oldest first."""
    from shared import audit
    from shared.db import make_engine, make_session_factory
    from shared.interop.fhir import cases_between, export_lines

    start = moment(since, "--since")
    stop = moment(until, "--until", end=True) if until else dt.datetime.now(dt.UTC)
    if stop <= start:
        raise click.BadParameter("must be after --since", param_hint="--until")
    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with make_session_factory(engine)() as session:
            found = cases_between(session, start, stop)
            # Recorded first, like `audit export`: which cases leave, by reference only.
            audit.record(
                session,
                actor="cli",
                action="fhir.exported",
                detail={
                    "since": start.isoformat(),
                    "until": stop.isoformat(),
                    "count": len(found),
                    "cases": [public_id for _, public_id in found],
                    "format": "fhir-r4-bundle-ndjson",
                },
            )
            session.commit()
            count = _write(export_lines(session, settings, [i for i, _ in found]), out)
    finally:
        engine.dispose()
    click.echo(f"{count} case(s) exported as FHIR Bundles", err=True)


def _write(lines: Iterator[tuple[str, str]], out: Path) -> int:
    """Write every line, or no file: it is written beside the target, then renamed."""
    count = 0
    if str(out) == "-":
        for _, line in lines:
            sys.stdout.write(line + "\n")
            count += 1
        return count
    partial = out.with_name(f".{out.name}.partial")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            for _, line in lines:
                handle.write(line + "\n")
                count += 1
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count
