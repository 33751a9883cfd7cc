"""The `medtriage` command. Web and worker run as their own processes (never imported here)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from urllib.parse import urlparse

import click
import redis

from shared import audit_cli
from shared.calibration.cli import calibrate
from shared.cli_models import models
from shared.config import Settings, get_settings
from shared.interop import fhir_cli, hl7_cli

REDIS_HELP = (
    "Install Redis (Debian/Ubuntu: 'sudo apt-get install redis-server'; macOS: "
    "'brew install redis') so `medtriage up` can start a private one, or point "
    "MEDTRIAGE_REDIS_URL at a running server."
)


def worker_argv(settings: Settings) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "worker.app:celery_app", "worker",
        "--pool", "prefork", "--concurrency", "1", "-Q", settings.queue_name,
        "--loglevel", "INFO", "-n", "medtriage@%h",
    ]  # fmt: skip


def web_argv(settings: Settings) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "--bind", f"{settings.host}:{settings.port}",
        "--workers", str(settings.web_workers), "--threads", str(settings.web_threads),
        # A process keeps at most twice its threads in keep-alive connections, so terminals
        # spread over all processes instead of piling onto the one that accepted first.
        "--worker-connections", str(2 * settings.web_threads),
        "--access-logfile", "-",
        # HTTPS, this instance's own control socket, metrics over all processes.
        "--config", "python:web.gunicorn_conf", "web.wsgi:app",
    ]  # fmt: skip


@click.group()
def main() -> None:
    """MedTriage: offline clinical triage queue (decision support, not diagnosis)."""


main.add_command(models)
main.add_command(calibrate)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the configured database."""
    from shared.migrate import upgrade

    settings = get_settings()
    upgrade(settings)
    click.echo(f"database at {redact(settings.sqlalchemy_url)} is up to date")


def redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def sessions(settings: Settings):  # type: ignore[no-untyped-def]
    from shared.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.sqlalchemy_url))


@main.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.argument("username")
@click.option(
    "--role", type=click.Choice(["nurse", "clinician", "auditor", "admin"]), required=True
)
@click.option(
    "--password", envvar="MEDTRIAGE_NEW_PASSWORD", default=None, help="Prompted for when not given."
)
def users_create(username: str, role: str, password: str | None) -> None:
    """Create a user."""
    from shared.accounts import AccountError, create_user

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with sessions(get_settings()).begin() as session:
        try:
            create_user(session, username, password, role, actor="cli")
        except AccountError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"user {username.lower()} ({role}) created")


@users.command("reset-password")
@click.argument("username")
def users_reset_password(username: str) -> None:
    """Give USERNAME a generated password, printed once, to change at the next login; their
    login sessions end (e.g. an admin who has lost theirs)."""
    from sqlalchemy import select

    from shared.accounts import reset_password
    from shared.db import User
    from shared.sessions import SessionRegistry

    settings = get_settings()
    with sessions(settings).begin() as session:
        user = session.scalar(select(User).where(User.username == username.lower()))
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        _user, temporary = reset_password(
            session, user.id, actor="cli", sessions=SessionRegistry.from_settings(settings)
        )
    click.echo(f"temporary password for {username.lower()} (change it at the next login):")
    click.echo(temporary)


@main.group()
def tokens() -> None:
    """API tokens for integrations."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", default="integration", show_default=True)
@click.option(
    "--scope",
    type=click.Choice(["read", "submit", "admin"]),
    default="submit",
    show_default=True,
    help="read: reads; submit: reads and case submissions; admin: an admin's everything.",
)
@click.option("--days", type=int, default=None, help="Lifetime in days [MEDTRIAGE_TOKEN_DAYS].")
def tokens_create(username: str, name: str, scope: str, days: int | None) -> None:
    """Create an API token for USERNAME and print it once."""
    from sqlalchemy import select

    from shared.accounts import AccountError, create_token
    from shared.db import User

    settings = get_settings()
    with sessions(settings).begin() as session:
        user = session.scalar(select(User).where(User.username == username.lower()))
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        try:
            token = create_token(
                session, user, name, actor="cli", scope=scope, days=days or settings.token_days
            )
        except AccountError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(token)


def ensure_first_admin(settings: Settings, password: str | None) -> None:
    """On an empty database create the admin; a generated password is shown once."""
    from shared.accounts import count_users, create_user

    with sessions(settings).begin() as session:
        if count_users(session):
            return
        generated = not (password or settings.admin_password)
        password = password or settings.admin_password or secrets.token_urlsafe(12)
        create_user(
            session,
            settings.admin_username,
            password,
            "admin",
            actor="setup",
            must_change_password=generated,
        )
    click.secho(f"First admin created: user '{settings.admin_username}'", fg="green")
    if generated:
        click.secho(
            f"  password: {password}   (shown once; you choose your own at the first login)",
            fg="yellow",
        )


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.exceptions.RedisError, OSError):
        return False


def start_private_redis(settings: Settings) -> subprocess.Popen[bytes]:
    """Start redis-server on the configured local port, keeping nothing on disk."""
    parsed = urlparse(settings.redis_url)
    binary = shutil.which("redis-server")
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1") or binary is None:
        raise click.ClickException(
            f"Redis is not reachable at {redact(settings.redis_url)}. " + REDIS_HELP
        )
    port = parsed.port or 6379
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(50):
        if redis_answers(settings.redis_url):
            click.echo(f"started a private redis-server on port {port}")
            return process
        time.sleep(0.1)
    process.terminate()
    raise click.ClickException("redis-server did not start. " + REDIS_HELP)


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()


@main.command()
@click.option("--admin-password", default=None, help="Password for the first admin.")
def up(admin_password: str | None) -> None:
    """Migrate, then run Redis (if needed), the worker and the web app until Ctrl-C."""
    from shared.migrate import upgrade

    settings = get_settings()
    settings.resolved_secret_key()  # create it once, before several web workers race for it
    upgrade(settings)
    ensure_first_admin(settings, admin_password)
    named: dict[str, subprocess.Popen[bytes]] = {}
    if not redis_answers(settings.redis_url):
        named["redis-server"] = start_private_redis(settings)
    named["worker"] = subprocess.Popen(worker_argv(settings))
    named["web"] = subprocess.Popen(web_argv(settings))
    children = list(named.values())
    scheme = "https" if settings.tls_cert else "http"
    click.secho(
        f"MedTriage is at {scheme}://{settings.host}:{settings.port}  (Ctrl-C stops it)",
        fg="green",
    )
    stopping = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.3)
    finally:
        crashed = [name for name, c in named.items() if c.poll() not in (None, 0)]
        stop_all(list(reversed(children)))
    if crashed and not stopping:
        raise click.ClickException(f"a process exited unexpectedly: {crashed}")
    click.echo("stopped")


@main.command()
@click.option(
    "--in",
    "in_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="CaseIn JSON lines (or CSV with --csv).",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="One JSON line per input line: the result or the error.",
)
@click.option("--csv", "is_csv", is_flag=True, help="Read a CSV file with a header row.")
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="CSV column for a case field or vital sign, e.g. --map heart_rate=HR; "
    "--map image=COLUMN for image paths (';' between several).",
)
def analyze(in_path: str, out_path: str, is_csv: bool, mapping: tuple[str, ...]) -> None:
    """Analyze a batch of cases in process (retrospective chart review; no queue, no DB)."""
    from pathlib import Path

    from shared.batch import BatchSummary, analyze_lines, parse_mapping, read_csv, read_jsonl
    from shared.batch_images import BatchImages
    from shared.inference.backend import ModelLoadError
    from shared.nlp.entities import find_medications

    source = Path(in_path)
    try:
        rows = read_csv(source, parse_mapping(mapping)) if is_csv else read_jsonl(source)
        total = sum(1 for line in source.open(encoding="utf-8", errors="replace") if line.strip())
        find_medications("")  # load the drug dictionary (seconds) before the clock starts
        started = time.perf_counter()
        summary = BatchSummary()
        with (
            Path(out_path).open("w", encoding="utf-8") as out,
            click.progressbar(
                length=max(total - (1 if is_csv else 0), 0), label="analyzing", file=sys.stderr
            ) as bar,
        ):
            settings = get_settings()
            if settings.pipeline == "model-text":  # the text model, in batches (README: Models)
                from shared.batch_model import analyze_lines_with_model
                from shared.pipelines.model import ModelPipeline

                model = ModelPipeline(settings)
                lines = analyze_lines_with_model(rows, out, model, settings.model_batch_size)
            else:
                lines = analyze_lines(rows, out, BatchImages(settings, source.resolve().parent))
            for summary in lines:  # noqa: B007 - read after the loop
                bar.update(1)
    except (ValueError, ModelLoadError) as exc:
        raise click.ClickException(str(exc)) from exc
    elapsed = time.perf_counter() - started
    click.echo("\n" + "\n".join(summary.table()))
    click.echo(
        f"{summary.lines} lines in {elapsed:.1f} s "
        f"({summary.lines / elapsed if elapsed else 0:.1f} notes/s); results in {out_path}"
    )


@main.command()
def web() -> None:
    """Serve the web app with gunicorn."""
    settings = get_settings()
    settings.resolved_secret_key()
    argv = web_argv(settings)
    os.execv(argv[0], argv)


@main.command()
def worker() -> None:
    """Run one Celery worker (concurrency 1) that loads the pipeline once per process."""
    argv = worker_argv(get_settings())
    os.execv(argv[0], argv)


main.add_command(audit_cli.audit)
main.add_command(fhir_cli.export)
main.add_command(hl7_cli.hl7)

if __name__ == "__main__":
    main()
