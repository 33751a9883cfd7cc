"""Intake benchmark: `POST /api/v1/cases` under gunicorn vs Celery Flower's async-apply.

Run: `.venv/bin/python bench/intake.py [--requests 10000] [--terminals 20] [--web-workers 4]`.

Starts its own redis-server and a throwaway PostgreSQL database, serves MedTriage with
`medtriage web` (gunicorn, N processes x threads) and drives it with concurrent terminals;
then starts N Flower processes on the same Redis and drives their
`POST /api/task/async-apply/<task>` round-robin with the same load. Equal footing twice over:
the same number of server processes, and requests per CPU-second, where the CPU is read from
/proc/<pid>/stat (utime + stime) over the measured window: for MedTriage the gunicorn
processes plus the PostgreSQL backends serving them, for Flower its processes. Redis and the
load generator are shown too, but counted for neither. Every request of the window is in the
latency percentiles (a timeout at the timeout), and the goal needs zero errors. No Celery
worker runs, so every published message stays in Redis and "enqueued" is checked by reading
the queue lists. The last line printed is one JSON object with the verdict.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import itertools
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
TASK = "triage.analyze_case"
OUR_QUEUE = "triage"
FLOWER_QUEUE = "flower_bench"
# kombu's Redis transport keeps one list per priority step: "<queue>" for 0, else
# "<queue>\x06\x16<step>" (kombu.transport.redis.Channel.sep / _q_for_pri).
KOMBU_SEP = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)
WARMUP_S = 2.0
TIMEOUT_S = 30.0
GOAL_RATIO = 1.5
GOAL_P99_MS = 100.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TIMED_OUT = -1  # Sample.status of a request that hit TIMEOUT_S
NO_ANSWER = 0  # Sample.status of a connection error


@dataclasses.dataclass
class Sample:
    """One request: when it started (monotonic), how long it took, what came back."""

    start: float
    latency_s: float
    status: int
    body: dict[str, Any] | None
    measured: bool


@dataclasses.dataclass
class RunResult:
    """All samples of one target, the measured window and the CPU it cost."""

    name: str
    samples: list[Sample]
    window_start: float
    window_end: float
    ok_status: int
    cpu_s: dict[str, float]  # CPU seconds per process group over the window
    server_groups: tuple[str, ...]  # the groups that count as this target's cost

    def measured(self) -> list[Sample]:
        """Samples that started inside the measured window (warm-up excluded)."""
        return [s for s in self.samples if s.measured]

    def accepted_all(self) -> list[Sample]:
        """Every accepted request, warm-up included (all must be verified)."""
        return [s for s in self.samples if s.status == self.ok_status]

    def server_cpu_s(self) -> float:
        return sum(self.cpu_s.get(group, 0.0) for group in self.server_groups)

    def stats(self) -> dict[str, float]:
        """Requests, errors, throughput, CPU cost and latency percentiles of the window.

        Every request counts in the latencies, failed ones too (a timeout at TIMEOUT_S)."""
        window = self.measured()
        accepted = [s for s in window if s.status == self.ok_status]
        latencies = sorted(s.latency_s * 1000 for s in window)
        seconds = self.window_end - self.window_start
        cpu = self.server_cpu_s()
        return {
            "requests": len(window),
            "accepted": len(accepted),
            "errors": len(window) - len(accepted),
            "timeouts": sum(1 for s in window if s.status == TIMED_OUT),
            "rps": len(accepted) / seconds if seconds > 0 else 0.0,
            "cpu_s": cpu,
            "per_cpu_s": len(accepted) / cpu if cpu > 0 else 0.0,
            "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99),
            "max_ms": latencies[-1] if latencies else 0.0,
        }


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * pct // 100))
    return sorted_values[int(rank) - 1]


def proc_stat(pid: int) -> tuple[int, int, float] | None:
    """(parent pid, start time in clock ticks since boot, CPU seconds) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after "(comm)": state is field 3, ppid 4, utime 14, stime 15, starttime 22.
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[19]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_tree(roots: list[int]) -> set[int]:
    """`roots` and all their live descendants (from /proc/<pid>/task/<tid>/children)."""
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError):
                    todo.extend(int(c) for c in (task / "children").read_text().split())
    return found


def boot_ticks_now() -> int:
    """Clock ticks since boot, the unit of /proc/<pid>/stat's starttime."""
    return int(float(Path("/proc/uptime").read_text().split()[0]) * CLOCK_TICKS)


class CpuMeter:
    """CPU seconds of groups of processes over a window, sampled from /proc/<pid>/stat.

    Each group is a function returning its pids now (a process tree, PostgreSQL's backends of
    one database). A process born inside the window counts from zero; one that ends inside it
    counts up to its last sample, so at most `interval_s` of its CPU is missed (`exited`
    says how many did)."""

    def __init__(self, groups: dict[str, Callable[[], set[int]]], interval_s: float = 0.1):
        self.groups = groups
        self.interval_s = interval_s
        self.base: dict[tuple[str, int, int], float] = {}
        self.last: dict[tuple[str, int, int], float] = {}
        self.alive: set[tuple[str, int, int]] = set()
        self.window_ticks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _sample(self) -> None:
        alive = set()
        for group, find in self.groups.items():
            for pid in find():
                stat = proc_stat(pid)
                if stat is None:
                    continue
                key = (group, pid, stat[1])
                alive.add(key)
                if key not in self.base:
                    # Born in the window: all its CPU is ours; else only what comes next.
                    self.base[key] = 0.0 if stat[1] >= self.window_ticks else stat[2]
                self.last[key] = stat[2]
        self.alive = alive

    def start(self) -> None:
        """Open the window: the baseline, then a sample every `interval_s`."""
        with self._lock:
            self.window_ticks = boot_ticks_now() + 1
            self.base.clear()
            self.last.clear()
            for group, find in self.groups.items():
                for pid in find():
                    if (stat := proc_stat(pid)) is not None:
                        self.base[(group, pid, stat[1])] = stat[2]
                        self.last[(group, pid, stat[1])] = stat[2]
        self._thread = threading.Thread(target=self._run, name="cpu-meter", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._lock:
                self._sample()

    def stop(self) -> dict[str, float]:
        """Close the window; CPU seconds per group, plus 'exited' (processes that ended)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._sample()
            totals = dict.fromkeys(self.groups, 0.0)
            for key, last in self.last.items():
                totals[key[0]] += last - self.base[key]
            totals["exited"] = float(len(set(self.last) - self.alive))
        return totals


class PostgresBackends:
    """A pid finder: PostgreSQL's client backends on one database, the finder's own left out."""

    QUERY = (
        "SELECT pid FROM pg_stat_activity WHERE datname = %s"
        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )

    def __init__(self, db_name: str) -> None:
        self.db_name = db_name
        self.conn = psycopg.connect(PG_ADMIN_DSN, autocommit=True)

    def __call__(self) -> set[int]:
        return {row[0] for row in self.conn.execute(self.QUERY, (self.db_name,)).fetchall()}

    def close(self) -> None:
        self.conn.close()


def free_port(preferred: int = 0) -> int:
    """The preferred port if it is free on 127.0.0.1, else any free one."""
    for candidate in (preferred, 0) if preferred else (0,):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port")


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `check` until it is true; raise after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, redis.RedisError):
            if check():
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout_s:.0f} s")


def http_ok(url: str) -> bool:
    """True when a plain GET to a 127.0.0.1 URL answers 200."""
    import urllib.request

    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL only
        return bool(response.status == 200)


class Stack:
    """Owns every process and the database the benchmark creates; `close` undoes all."""

    def __init__(self, db_name: str) -> None:
        self.db_name = db_name
        self.tmp = Path(tempfile.mkdtemp(prefix="medtriage-bench-"))
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: list[Any] = []
        self.closers: list[Callable[[], None]] = []
        self.db_created = False

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start a child in its own session (Ctrl-C reaches only us), logging to tmp."""
        log = (self.tmp / f"{name}.log").open("wb")
        self.logs.append(log)
        process = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def log_tail(self, name: str, lines: int = 30) -> str:
        """Last lines of a child's log, for error messages."""
        path = self.tmp / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, name: str) -> None:
        """SIGTERM one child, SIGKILL it after 10 s."""
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def create_db(self) -> None:
        """Drop (if left over) and create the throwaway database."""
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.db_created = True

    def drop_db(self) -> None:
        """Drop the throwaway database."""
        if not self.db_created:
            return
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        self.db_created = False

    def close(self) -> None:
        """Stop children (newest first), drop the database, remove the temp folder."""
        for closer in self.closers:
            with contextlib.suppress(Exception):
                closer()
        for name in reversed(list(self.processes)):
            with contextlib.suppress(Exception):
                self.stop(name)
        with contextlib.suppress(Exception):
            self.drop_db()
        for log in self.logs:
            log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_redis(stack: Stack, port: int) -> str:
    """Start a private, diskless redis-server and return its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--daemonize", "no"]
    stack.spawn("redis", argv, dict(os.environ))
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    wait_until(lambda: bool(client.ping()), 10, "redis-server")
    return url


def app_env(stack: Stack, redis_url: str, port: int, workers: int, threads: int) -> dict[str, str]:
    """Environment for the `medtriage` CLI, gunicorn and Flower."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDTRIAGE_")}
    env.update(
        MEDTRIAGE_DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{stack.db_name}",
        MEDTRIAGE_REDIS_URL=redis_url,
        MEDTRIAGE_INSTANCE_PATH=str(stack.tmp / "instance"),
        MEDTRIAGE_SECRET_KEY=secrets.token_hex(32),
        MEDTRIAGE_PORT=str(port),
        MEDTRIAGE_HOST="127.0.0.1",
        MEDTRIAGE_WEB_WORKERS=str(workers),
        MEDTRIAGE_WEB_THREADS=str(threads),
        PYTHONPATH=str(ROOT),
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def medtriage(env: dict[str, str], *args: str) -> str:
    """Run one `medtriage` CLI command and return its stdout."""
    done = subprocess.run(
        [str(VENV_BIN / "medtriage"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"medtriage {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def prepare_app(env: dict[str, str]) -> str:
    """Migrate the database, create the bench nurse and return her API token."""
    medtriage(env, "db", "upgrade")
    medtriage({**env, "MEDTRIAGE_NEW_PASSWORD": secrets.token_urlsafe(16)},
              "users", "create", "benchnurse", "--role", "nurse")  # fmt: skip
    token = medtriage(env, "tokens", "create", "benchnurse").strip().splitlines()[-1]
    assert token.startswith("mt_"), token
    return token


def start_web(stack: Stack, env: dict[str, str]) -> str:
    """Start `medtriage web` (gunicorn) and wait for /healthz; return the base URL."""
    base = f"http://127.0.0.1:{env['MEDTRIAGE_PORT']}"
    process = stack.spawn("web", [str(VENV_BIN / "medtriage"), "web"], env)

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + stack.log_tail("web"))
        return http_ok(f"{base}/healthz")

    wait_until(healthy, 60, "gunicorn")
    return base


def start_flower(stack: Stack, env: dict[str, str], port: int, index: int) -> str:
    """Start one Flower process on the same broker (unauthenticated API, local only)."""
    argv = [str(VENV_BIN / "celery"), "-A", "worker.app:celery_app", "flower"]
    argv += [f"--port={port}", "--address=127.0.0.1", "--persistent=False"]
    name = f"flower{index}"
    process = stack.spawn(name, argv, {**env, "FLOWER_UNAUTHENTICATED_API": "true"})
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError("flower exited:\n" + stack.log_tail(name))
        return http_ok(f"{base}/healthcheck")

    wait_until(healthy, 60, "flower")
    return base


VITALS = {
    "low": {
        "respiratory_rate": (12, 18),
        "spo2": (96, 100),
        "systolic_bp": (112, 135),
        "heart_rate": (58, 88),
        "temperature_c": (36.3, 37.6),
        "consciousness": ["A"],
    },
    "medium": {
        "respiratory_rate": (21, 24),
        "spo2": (93, 95),
        "systolic_bp": (101, 110),
        "heart_rate": (91, 118),
        "temperature_c": (38.1, 38.9),
        "consciousness": ["A"],
    },
    "high": {
        "respiratory_rate": (25, 34),
        "spo2": (84, 91),
        "systolic_bp": (78, 90),
        "heart_rate": (131, 150),
        "temperature_c": (34.5, 35.0),
        "consciousness": ["V", "P", "C"],
    },
}
COMPLAINTS = {
    "low": ["sprained ankle", "sore throat for two days", "small laceration on the hand"],
    "medium": ["fever and productive cough", "abdominal pain since last night", "dizziness"],
    "high": ["shortness of breath at rest", "chest pain radiating to the arm", "confused, hot"],
}


def make_case(rng: random.Random, n: int) -> dict[str, Any]:
    """A realistic valid CaseIn body; risk bands rotate low/medium/high."""
    band = ("low", "medium", "high")[n % 3]
    spec = VITALS[band]
    systolic = rng.randint(*spec["systolic_bp"])
    vitals = {
        "respiratory_rate": rng.randint(*spec["respiratory_rate"]),
        "spo2": rng.randint(*spec["spo2"]),
        "on_oxygen": band == "high" and rng.random() < 0.5,
        "systolic_bp": systolic,
        "diastolic_bp": rng.randint(45, min(95, systolic - 10)),
        "heart_rate": rng.randint(*spec["heart_rate"]),
        "consciousness": rng.choice(spec["consciousness"]),
        "temperature_c": round(rng.uniform(*spec["temperature_c"]), 1),
        "pain": rng.randint(0, 10),
    }
    return {
        "patient_ref": f"BENCH-{n:07d}",
        "age_years": rng.choice([0.5, 4, 17, 34, 52, 68, 81]),
        "sex": rng.choice(["female", "male", "other", "unknown"]),
        "pregnant": False,
        "chief_complaint": rng.choice(COMPLAINTS[band]),
        "note": "Walk-in; history per patient. " * rng.randint(1, 6),
        "vitals": vitals,
    }


RequestFactory = Callable[[int], tuple[str, dict[str, str], bytes]]


async def drive(
    name: str,
    make_request: RequestFactory,
    ok_status: int,
    args: argparse.Namespace,
    meter: CpuMeter,
    server_groups: tuple[str, ...],
) -> RunResult:
    """`args.terminals` clients loop sequential POSTs: WARMUP_S of warm-up, then exactly
    `args.requests` measured requests (fewer only if `args.max_seconds` runs out)."""
    counter = itertools.count()
    samples: list[Sample] = []
    tickets = args.requests
    measuring = False
    window_start = deadline = 0.0
    connector = aiohttp.TCPConnector(limit=args.terminals, force_close=False)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)

    async def open_window() -> None:
        nonlocal measuring, window_start, deadline
        await asyncio.sleep(WARMUP_S)
        meter.start()
        window_start = time.monotonic()
        deadline = window_start + args.max_seconds
        measuring = True

    async def terminal(session: aiohttp.ClientSession) -> None:
        nonlocal tickets
        while True:
            measured = measuring
            if measured:
                if tickets <= 0 or time.monotonic() >= deadline:
                    return
                tickets -= 1
            url, headers, body = make_request(next(counter))
            t0 = time.monotonic()
            parsed, status = None, NO_ANSWER
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    payload = await response.read()
                    status = response.status
                latency = time.monotonic() - t0
            except TimeoutError:
                status, latency = TIMED_OUT, TIMEOUT_S
            except aiohttp.ClientError:
                latency = time.monotonic() - t0
            if status == ok_status:
                with contextlib.suppress(ValueError):
                    parsed = json.loads(payload)
            samples.append(Sample(t0, latency, status, parsed, measured))

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(open_window(), *(terminal(session) for _ in range(args.terminals)))
    window_end = time.monotonic()
    cpu_s = meter.stop()
    return RunResult(name, samples, window_start, window_end, ok_status, cpu_s, server_groups)


def ours_requests(base: str, token: str, seed: int) -> RequestFactory:
    """Request factory for MedTriage: valid case, bearer token, unique Idempotency-Key."""
    rng = random.Random(seed)
    url = f"{base}/api/v1/cases"

    def make(n: int) -> tuple[str, dict[str, str], bytes]:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"bench-{uuid.uuid4().hex}",
        }
        return url, headers, json.dumps(make_case(rng, n)).encode()

    return make


def flower_requests(bases: list[str]) -> RequestFactory:
    """Request factory for Flower: same task, own queue, round-robin over its processes."""
    urls = [f"{base}/api/task/async-apply/{TASK}" for base in bases]
    headers = {"Content-Type": "application/json"}

    def make(n: int) -> tuple[str, dict[str, str], bytes]:
        body = {"args": [1_000_000 + n], "queue": FLOWER_QUEUE}
        return urls[n % len(urls)], headers, json.dumps(body).encode()

    return make


def queue_keys(queue: str) -> list[str]:
    """The Redis list names kombu uses for `queue` with our priority steps."""
    return [queue if step == 0 else f"{queue}{KOMBU_SEP}{step}" for step in PRIORITY_STEPS]


def queued_args(redis_url: str, queue: str) -> Iterator[tuple[str, Any]]:
    """(task name, first arg) of every message waiting in `queue`'s lists."""
    client = redis.Redis.from_url(redis_url)
    for key in queue_keys(queue):
        for raw in client.lrange(key, 0, -1):
            message = json.loads(raw)
            body = message["body"]
            if message.get("properties", {}).get("body_encoding") == "base64":
                body = base64.b64decode(body)
            args = json.loads(body)[0]
            yield message["headers"].get("task", ""), (args[0] if args else None)


def verify_ours(db_url: str, redis_url: str, run: RunResult) -> dict[str, int]:
    """Count accepted cases missing from the database or never enqueued."""
    accepted = [s.body["id"] for s in run.accepted_all() if s.body and "id" in s.body]
    unparsed = len(run.accepted_all()) - len(accepted)
    dsn = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT public_id, id FROM cases WHERE public_id = ANY(%s)", (accepted,)
        ).fetchall()
    by_public = {public_id: case_id for public_id, case_id in rows}
    queued = {arg for task, arg in queued_args(redis_url, OUR_QUEUE) if task == TASK}
    missing_db = [p for p in accepted if p not in by_public]
    not_queued = [p for p in accepted if p in by_public and by_public[p] not in queued]
    return {
        "accepted": len(accepted) + unparsed,
        "unique": len(set(accepted)),
        "missing_from_db": len(missing_db) + unparsed,
        "never_enqueued": len(not_queued),
        "lost": len(missing_db) + unparsed + len(not_queued),
        "queued_messages": len(queued),
    }


def verify_flower(redis_url: str, run: RunResult) -> dict[str, int]:
    """Count Flower's accepted requests whose message is not in its queue."""
    accepted = len(run.accepted_all())
    queued = sum(1 for task, _ in queued_args(redis_url, FLOWER_QUEUE) if task == TASK)
    return {"accepted": accepted, "queued_messages": queued, "missing": max(0, accepted - queued)}


def print_tables(results: list[RunResult]) -> None:
    """Side by side: answers and latencies, then what the window cost in CPU."""
    header = f"{'target':<32}{'requests':>9}{'accepted':>9}{'errors':>7}"
    header += f"{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>9}"
    print(header)
    print("-" * len(header))
    for run in results:
        s = run.stats()
        print(
            f"{run.name:<32}{s['requests']:>9}{s['accepted']:>9}{s['errors']:>7}"
            f"{s['rps']:>9.1f}{s['p50_ms']:>8.1f}{s['p99_ms']:>8.1f}{s['max_ms']:>9.1f}"
        )
    print()
    header = f"{'CPU seconds in the window':<32}{'server':>8}{'req/CPU-s':>10}"
    header += f"{'web/flower':>11}{'postgres':>9}{'redis':>7}{'client':>7}{'exited':>7}"
    print(header)
    print("-" * len(header))
    for run in results:
        s, cpu = run.stats(), run.cpu_s
        print(
            f"{run.name:<32}{s['cpu_s']:>8.2f}{s['per_cpu_s']:>10.1f}"
            f"{cpu.get('web', cpu.get('flower', 0.0)):>11.2f}{cpu['postgres']:>9.2f}"
            f"{cpu['redis']:>7.2f}{cpu['client']:>7.2f}{int(cpu['exited']):>7}"
        )
    print("server = what counts for the target: gunicorn + its PostgreSQL backends for MedTriage,")
    print("the Flower processes for Flower; Redis and the load generator count for neither.")


def error_summary(run: RunResult) -> str:
    """Status codes of failed requests, e.g. '500x3, timeoutx1'."""
    labels = {TIMED_OUT: "timeout", NO_ANSWER: "no answer"}
    codes: dict[int, int] = {}
    for s in run.samples:
        if s.status != run.ok_status:
            codes[s.status] = codes.get(s.status, 0) + 1
    return (
        ", ".join(f"{labels.get(code, code)}x{count}" for code, count in sorted(codes.items()))
        or "none"
    )


def parse_args() -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000, help="measured requests/target")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cap on the window")
    parser.add_argument("--terminals", type=int, default=20, help="concurrent clients")
    parser.add_argument(
        "--web-workers", type=int, default=4, help="gunicorn processes, and Flower processes"
    )
    parser.add_argument("--web-threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--redis-port", type=int, default=6395, help="preferred private port")
    parser.add_argument("--db-name", default="medtriage_bench", help="throwaway database")
    parser.add_argument("--skip-flower", action="store_true", help="measure MedTriage only")
    return parser.parse_args()


def on_signal(_signum: int, _frame: object) -> None:
    """Turn SIGINT/SIGTERM into KeyboardInterrupt so the same cleanup runs."""
    raise KeyboardInterrupt


def ratio(ours: float, theirs: float) -> float | None:
    return round(ours / theirs, 3) if theirs else None


def run_benchmark(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    """Bring the stack up, load both targets, verify, print; return the verdict."""
    redis_url = start_redis(stack, free_port(args.redis_port))
    stack.create_db()
    backends = PostgresBackends(stack.db_name)
    stack.closers.append(backends.close)
    shared_groups: dict[str, Callable[[], set[int]]] = {
        "postgres": backends,
        "redis": lambda: {stack.processes["redis"].pid},
        "client": lambda: {os.getpid()},
    }
    env = app_env(stack, redis_url, free_port(), args.web_workers, args.web_threads)
    token = prepare_app(env)
    base = start_web(stack, env)
    web_pid = stack.processes["web"].pid
    cores, usable = os.cpu_count() or 0, len(os.sched_getaffinity(0))
    print(
        f"{cores} cores ({usable} usable). MedTriage: gunicorn {args.web_workers} processes x "
        f"{args.web_threads} threads at {base}; {args.terminals} terminals, {WARMUP_S:.0f} s "
        f"warm-up, then {args.requests} requests (at most {args.max_seconds:.0f} s)",
        flush=True,
    )
    ours_meter = CpuMeter({"web": lambda: process_tree([web_pid]), **shared_groups})
    ours = asyncio.run(
        drive(f"medtriage x{args.web_workers} POST /cases", ours_requests(base, token, 7), 202,
              args, ours_meter, ("web", "postgres"))
    )  # fmt: skip
    stack.stop("web")  # the two targets never share the CPU
    results = [ours]
    flower_run = None
    if not args.skip_flower:
        bases = [start_flower(stack, env, free_port(), i) for i in range(args.web_workers)]
        pids = [stack.processes[f"flower{i}"].pid for i in range(args.web_workers)]
        print(
            f"Flower: {args.web_workers} processes, requests round-robin over {', '.join(bases)}"
            f" (same Redis broker, queue {FLOWER_QUEUE!r})",
            flush=True,
        )
        flower_meter = CpuMeter({"flower": lambda: process_tree(pids), **shared_groups})
        flower_run = asyncio.run(
            drive(f"flower x{args.web_workers} async-apply", flower_requests(bases), 200,
                  args, flower_meter, ("flower",))
        )  # fmt: skip
        for i in range(args.web_workers):
            stack.stop(f"flower{i}")
        results.append(flower_run)
    print()
    print_tables(results)
    check = verify_ours(env["MEDTRIAGE_DATABASE_URL"], redis_url, ours)
    print()
    print(
        f"medtriage: {check['accepted']} accepted (warm-up included), {check['unique']} unique ids,"
        f" {check['missing_from_db']} missing from DB, {check['never_enqueued']} never enqueued;"
        f" {check['queued_messages']} case ids queued; failed requests: {error_summary(ours)}"
    )
    s = ours.stats()
    verdict: dict[str, Any] = {
        "cores": cores,
        "processes": args.web_workers,
        "web_threads": args.web_threads,
        "terminals": args.terminals,
        "requests": args.requests,
        "ratio_per_cpu_s": None,
        "ratio_rps_equal_processes": None,
        "ours_req_per_cpu_s": round(s["per_cpu_s"], 1),
        "flower_req_per_cpu_s": None,
        "ours_rps": round(s["rps"], 1),
        "flower_rps": None,
        "p99_ms": round(s["p99_ms"], 1),
        "flower_p99_ms": None,
        "errors": int(s["errors"]),
        "flower_errors": None,
        "lost": check["lost"],
    }
    if flower_run is not None:
        fcheck = verify_flower(redis_url, flower_run)
        f = flower_run.stats()
        print(
            f"flower: {fcheck['accepted']} accepted, {fcheck['queued_messages']} messages queued,"
            f" {fcheck['missing']} missing; failed requests: {error_summary(flower_run)}"
        )
        verdict.update(
            ratio_per_cpu_s=ratio(s["per_cpu_s"], f["per_cpu_s"]),
            ratio_rps_equal_processes=ratio(s["rps"], f["rps"]),
            flower_req_per_cpu_s=round(f["per_cpu_s"], 1),
            flower_rps=round(f["rps"], 1),
            flower_p99_ms=round(f["p99_ms"], 1),
            flower_errors=int(f["errors"]),
        )
    ratios = [verdict["ratio_per_cpu_s"], verdict["ratio_rps_equal_processes"]]
    met = (
        None not in ratios
        and min(ratios) >= GOAL_RATIO
        and verdict["p99_ms"] <= GOAL_P99_MS
        and verdict["errors"] == 0
        and verdict["lost"] == 0
    )
    verdict["goal_met"] = met
    print(
        f"goal (per CPU-second and at equal processes both >= {GOAL_RATIO}x Flower, "
        f"p99 <= {GOAL_P99_MS:.0f} ms over every request, 0 errors, 0 lost): "
        f"{'MET' if met else 'NOT MET'}"
    )
    return verdict


def main() -> int:
    """Entry point: always clean up, print the JSON verdict last."""
    args = parse_args()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    stack = Stack(args.db_name)
    try:
        verdict = run_benchmark(args, stack)
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        stack.close()
    print(json.dumps(verdict), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
