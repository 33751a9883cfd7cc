"""Real services for tests: a private Redis server, throwaway PostgreSQL databases, a worker."""

from __future__ import annotations

import atexit
import functools
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis

from shared.config import Settings

ROOT = Path(__file__).resolve().parents[2]
# The machine's PostgreSQL as a developer's box and CI have it; when it is not there (a fresh
# machine) and MEDTRIAGE_TEST_PG names no other, the tests start a throwaway cluster.
DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PG_INSTALL = "sudo apt-get install -y postgresql"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class RedisServer:
    """A redis-server of the tests' own, on its own port, that tests may stop and flush."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1)

    def alive(self) -> bool:
        try:
            return bool(self.client().ping())
        except (redis.RedisError, OSError):
            return False

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for(self.alive, 10, "redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl", path=str(Path(found).resolve().parent)):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(versions[-1]).parent if versions else None


def _version(path: str) -> tuple[int, ...]:
    part = Path(path).parent.parent.name
    return tuple(int(x) for x in part.split(".") if x.isdigit())


class PostgresCluster:
    """A throwaway PostgreSQL cluster of the tests' own: initdb into a temporary folder,
    trust auth on 127.0.0.1 and a free port, removed when the tests end. initdb refuses
    to run as root, so as root it runs as the `postgres` user (or `nobody`)."""

    def __init__(self, workdir: Path, bindir: Path) -> None:
        self.workdir = workdir
        self.bindir = bindir
        self.port = free_port()
        self.datadir = workdir / "data"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, *argv: str) -> list[str]:
        if os.getuid() != 0:
            return list(argv)
        return ["runuser", "-u", self._owner(), "--", *argv]

    @staticmethod
    def _owner() -> str:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "nobody"
        return "postgres"

    def start(self) -> None:
        if os.getuid() == 0:
            shutil.chown(self.workdir, self._owner())
        log = self.workdir / "postgres.log"
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        for argv in (
            [str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--no-sync"],
            [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-o", options,
             "-l", str(log), "-w", "-t", "60", "start"],
        ):  # fmt: skip
            done = subprocess.run(self._as_owner(*argv), capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"{Path(argv[0]).name} failed:\n{done.stdout}{done.stderr}")

    def stop(self) -> None:
        subprocess.run(
            self._as_owner(
                str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"
            ),
            capture_output=True,
        )
        shutil.rmtree(self.workdir, ignore_errors=True)


def _answers(dsn: str) -> bool:
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


@functools.cache
def pg_admin_dsn() -> str:
    """MEDTRIAGE_TEST_PG when set; else the machine's PostgreSQL at 127.0.0.1:5432 when it
    lets user postgres in; else a throwaway cluster started now and stopped at exit."""
    configured = os.environ.get("MEDTRIAGE_TEST_PG")
    if configured:
        return configured
    if _answers(DEFAULT_PG_DSN):
        return DEFAULT_PG_DSN
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError(
            f"No PostgreSQL for the tests: none at {DEFAULT_PG_DSN}, MEDTRIAGE_TEST_PG unset, "
            f"and no initdb to start one. Run: {PG_INSTALL}"
        )
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="medtriage-pg-")), bindir)
    atexit.register(cluster.stop)
    cluster.start()
    return cluster.dsn


class PostgresDatabase:
    """A database created for one test session and dropped after it."""

    def __init__(self) -> None:
        self.name = f"medtriage_test_{uuid.uuid4().hex[:10]}"

    @property
    def url(self) -> str:
        base = pg_admin_dsn().rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return f"{base}/{self.name}"

    def _admin(self, sql: str) -> None:
        with psycopg.connect(pg_admin_dsn(), autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> None:
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process build the same Settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        env[f"MEDTRIAGE_{name.upper()}"] = str(value)
    env["PYTHONPATH"] = str(ROOT)
    return env


class WorkerProcess:
    """A real `celery worker` process (prefork, concurrency 1) for one test."""

    def __init__(self, settings: Settings, logdir: Path) -> None:
        self.settings = settings
        self.logdir = logdir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.logdir / f"worker-{self.starts}.log"

    def start(self, wait: bool = True) -> None:
        self.starts += 1
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker.app:celery_app",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "-Q",
                self.settings.queue_name,
                "--loglevel",
                "INFO",
                "-n",
                f"test-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=settings_env(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            wait_for(
                lambda: b" ready." in self.log_path.read_bytes() or self._died(),
                60,
                "the worker to be ready",
            )
            if self._died():
                raise RuntimeError("worker died:\n" + self.log_path.read_text()[-3000:])

    def _died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def kill(self) -> None:
        """SIGKILL the whole process group: main process and pool child, no cleanup."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.logdir.glob("worker-*.log"))
        )


class WebServer:
    """A real `medtriage web` (gunicorn, its own port and instance folder) for one test."""

    def __init__(self, settings: Settings, logdir: Path, home: Path | None = None) -> None:
        self.settings = settings
        self.log_path = logdir / f"web-{settings.port}.log"
        self.home = home
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.settings.tls_cert else "http"
        return f"{scheme}://127.0.0.1:{self.settings.port}"

    def start(self) -> None:
        env = settings_env(self.settings)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if self.home is not None:
            env["HOME"] = str(self.home)
            env.pop("XDG_RUNTIME_DIR", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shared.cli", "web"],
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._up_or_dead, 60, "gunicorn to listen")
        if self.process.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + self.log())

    def _up_or_dead(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            return True
        return b"Booting worker" in self.log_path.read_bytes() and self._listening()

    def _listening(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.settings.port)) == 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
