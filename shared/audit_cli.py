"""`medtriage audit`: verify the chain (against the anchor file and heads kept on paper),
print the head to keep, export events. Exports are audit events themselves."""

from __future__ import annotations

import datetime as dt
import sys
from typing import IO

import click
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from shared.config import get_settings


def _sessions() -> sessionmaker[Session]:
    from shared.db import make_engine, make_session_factory

    return make_session_factory(make_engine(get_settings().sqlalchemy_url))


@click.group()
def audit() -> None:
    """The audit trail: verify, head, export."""


@audit.command("verify")
@click.option(
    "--head",
    "heads",
    multiple=True,
    metavar="LINE",
    help="A head printed earlier by `medtriage audit head` (or SEQ:HASH); repeatable.",
)
@click.option("--no-seal", is_flag=True, help="Verify only; leave pending events unsealed.")
def verify(heads: tuple[str, ...], no_seal: bool) -> None:
    """Check every link with the key, the head against the anchor file and kept heads, and
    every case and result against its latest sealed state. Exit 1 when anything is wrong."""
    from shared import audit as trail
    from shared import audit_anchor
    from shared.audit_key import AuditKeyError, audit_key

    kept = []
    for text in heads:
        found = audit_anchor.parse(text, "the kept head")
        if found is None:
            raise click.BadParameter(f"not a printed head: {text[:80]!r}", param_hint="--head")
        kept.append(found)
    settings = get_settings()
    with _sessions()() as session:
        if not no_seal:
            try:
                trail.seal(session, audit_key(settings))
            except AuditKeyError as exc:
                raise click.ClickException(str(exc)) from exc
        check = trail.verify(session, settings, kept)
    for note in check.notes:
        click.echo(f"note: {note}")
    if check.ok:
        click.secho(
            f"audit trail intact: {check.events} events, {check.anchors_checked} anchored "
            f"heads, {check.cases_checked} cases checked; {check.unsealed} not yet sealed",
            fg="green",
        )
        return
    click.secho(f"audit trail ALTERED: first bad event {check.first_bad_seq}", fg="red")
    for problem in check.problems:
        click.echo(f"  [{problem.kind}] {problem.message}")
    sys.exit(1)


@audit.command("head")
def head() -> None:
    """Print the chain's head as one line to keep (paper, another machine)."""
    from shared import audit as trail

    with _sessions()() as session:
        click.echo(trail.printable_head(session).line())


@audit.command("export")
@click.option("--since", help="From this date or time (UTC when no zone is given).")
@click.option("--until", help="Up to this date (the whole day) or time.")
@click.option("--case", "case", help="A case's reference or a patient reference.")
@click.option("--actor")
@click.option("--action", help="An action, or a prefix ending in '.' (case.)")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--output", "-o", type=click.File("w"), default="-", help="Default: stdout.")
def export(
    since: str | None,
    until: str | None,
    case: str | None,
    actor: str | None,
    action: str | None,
    fmt: str,
    output: IO[str],
) -> None:
    """Export the events that match, oldest first."""
    from shared import audit as trail
    from shared.audit_query import EventQuery, iter_events, to_csv, to_json

    raw = {"since": since, "until": until, "case": case, "actor": actor, "action": action}
    try:
        query = EventQuery.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        wrong = ", ".join(f"--{e['loc'][0]}" for e in exc.errors() if e["loc"])
        raise click.UsageError(f"{wrong}: not a valid value (dates like 2026-12-10)") from exc
    with _sessions()() as session:
        trail.record(
            session,
            actor="cli",
            action="audit.exported",
            detail={"format": fmt, "at": dt.datetime.now(dt.UTC).isoformat(), **query.filters()},
        )
        session.commit()
        write = to_csv if fmt == "csv" else to_json
        for chunk in write(iter_events(session, query)):
            output.write(chunk)
