"""gunicorn settings drawn from MEDTRIAGE_* (`medtriage web` loads this module with
`--config python:web.gunicorn_conf`; bind, workers and threads come on its command line).

- HTTPS when `MEDTRIAGE_TLS_CERT` and `MEDTRIAGE_TLS_KEY` are set, and a warning at start
  when serving beyond this machine without TLS (here or in a proxy in front).
- This instance's own control socket, in its instance folder, named by its port: gunicorn's
  default is one fixed path in the home folder, so a second instance on the host took the
  first one's.
- prometheus-client's multiprocess folder, fresh for each start, so /metrics adds up the
  request counts of every worker process.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from shared.config import get_settings

settings = get_settings()
# AF_UNIX socket paths are limited to 108 bytes on Linux.
_SOCKET_PATH_MAX = 100

PLAIN_HTTP_WARNING = (
    "MedTriage serves {host}:{port} beyond this machine over plain HTTP: passwords, session "
    "cookies and patient data cross the network readable by anyone on it. Set "
    "MEDTRIAGE_TLS_CERT and MEDTRIAGE_TLS_KEY, or put a TLS proxy in front and set "
    "MEDTRIAGE_TLS_PROXY=true (README: TLS)."
)


def _control_socket() -> str:
    folder = settings.instance_path.resolve()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"gunicorn-{settings.port}.ctl"
    if len(str(path).encode()) <= _SOCKET_PATH_MAX:
        return str(path)
    return str(Path(tempfile.mkdtemp(prefix="medtriage-gunicorn-")) / "gunicorn.ctl")


def loopback_only(host: str) -> bool:
    """True when `host` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: assume the network can reach it


if settings.tls_cert:
    certfile = settings.tls_cert
    keyfile = settings.tls_key

control_socket = _control_socket()


def on_starting(server: Any) -> None:
    """A fresh multiprocess folder before any worker imports prometheus-client."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
    else:
        folder = tempfile.mkdtemp(prefix="medtriage-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        server.medtriage_metrics_dir = folder


def when_ready(server: Any) -> None:
    if not settings.tls_enabled and not loopback_only(settings.host):
        server.log.warning(PLAIN_HTTP_WARNING.format(host=settings.host, port=settings.port))


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    folder = getattr(server, "medtriage_metrics_dir", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
