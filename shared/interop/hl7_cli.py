"""`medtriage hl7 listen` (the MLLP listener, its own process) and `medtriage hl7 send`."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click

from shared.config import get_settings


@click.group()
def hl7() -> None:
    """HL7 v2 in over MLLP: registrations (ADT A04/A08) and vital signs (ORU R01)."""


@hl7.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True, help="0.0.0.0: the clinic LAN.")
@click.option("--port", default=2575, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--max-bytes",
    default=1024 * 1024,
    show_default=True,
    type=click.IntRange(1024),
    help="A larger message is answered AR, unread.",
)
@click.option(
    "--idle-timeout",
    default=300.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds a connection may send nothing before it is closed.",
)
@click.option(
    "--message-timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds a message may take to arrive whole from its start byte; then it is dropped.",
)
@click.option("--max-connections", default=32, show_default=True, type=click.IntRange(1))
@click.option(
    "--processing-id",
    default="P",
    show_default=True,
    type=click.Choice(["P", "T", "D"]),
    help="MSH-11 accepted (production, training, debugging); others are answered AR.",
)
def listen(
    host: str,
    port: int,
    max_bytes: int,
    idle_timeout: float,
    message_timeout: float,
    max_connections: int,
    processing_id: str,
) -> None:
    """Listen for HL7 v2 messages until SIGTERM or Ctrl-C; answer each with an ACK."""
    from shared.db import make_engine, make_session_factory
    from shared.interop.hl7 import quiet_parser_logs
    from shared.interop.hl7_apply import Allowed, Inbox
    from shared.interop.mllp import MllpServer
    from shared.queue import Dispatcher

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    quiet_parser_logs()  # python-hl7 logs field values (names) on escapes it cannot read
    settings = get_settings()
    try:
        allowed = Allowed.parse(settings.hl7_senders, settings.hl7_allowed_addresses)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if not allowed.senders:
        logging.getLogger("medtriage.hl7").error(
            "MEDTRIAGE_HL7_SENDERS is empty: every message will be answered AR. Name the "
            "senders allowed as MSH-3^MSH-4 pairs, e.g. MEDTRIAGE_HL7_SENDERS=REG^HOSP,MON^HOSP "
            "(and optionally MEDTRIAGE_HL7_ALLOWED_ADDRESSES=10.0.5.2 for their addresses)"
        )
    engine = make_engine(settings.sqlalchemy_url)
    inbox = Inbox(
        make_session_factory(engine),
        Dispatcher.from_settings(settings),
        settings.area_list(),
        processing_id=processing_id,
        max_bytes=max_bytes,
        allowed=allowed,
    )
    server = MllpServer(
        inbox.answer,
        host=host,
        port=port,
        max_bytes=max_bytes,
        idle_timeout_s=idle_timeout,
        max_connections=max_connections,
        message_timeout_s=message_timeout,
    )
    try:
        server.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _s, _f: stop.set())
    signal.signal(signal.SIGINT, lambda _s, _f: stop.set())
    click.echo(f"HL7 MLLP listener on {host}:{server.port} (SIGTERM or Ctrl-C stops it)")
    while not stop.wait(1.0):
        pass
    click.echo("stopping: finishing the messages in hand")
    server.stop()
    engine.dispose()
    click.echo("stopped")


@hl7.command("send")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2575, show_default=True, type=click.IntRange(1, 65535))
def send_file(path: Path, host: str, port: int) -> None:
    """Send the HL7 message in PATH (any line endings) and print the ACK."""
    from shared.interop.mllp import send

    message = path.read_bytes().replace(b"\r\n", b"\r").replace(b"\n", b"\r").strip()
    try:
        answer = send(host, port, message)
    except OSError as exc:
        raise click.ClickException(f"{host}:{port}: {exc}") from exc
    click.echo(answer.replace(b"\r", b"\n").decode("utf-8", errors="replace"))
