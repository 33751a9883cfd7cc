"""Intake benchmark: `POST /api/v1/cases` under gunicorn vs Celery Flower's async-apply.

Run: `.venv/bin/python bench/intake.py [--seconds 15] [--terminals 20]`.

Starts its own redis-server and a throwaway PostgreSQL database, serves MedTriage with
`medtriage web` (gunicorn), drives it with N concurrent terminals, then drives Flower's
`POST /api/task/async-apply/<task>` on the same Redis with the same load. No Celery worker
runs, so every published message stays in Redis and "enqueued" is checked by reading the
queue lists. The last line printed is one JSON object with the verdict.
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
GOAL_RATIO = 1.5
GOAL_P99_MS = 100.0


@dataclasses.dataclass
class Sample:
    """One request: when it started (monotonic), how long it took, what came back."""

    start: float
    latency_s: float
    status: int
    body: dict[str, Any] | None


@dataclasses.dataclass
class RunResult:
    """All samples of one target plus the measured window."""

    name: str
    samples: list[Sample]
    window_start: float
    window_end: float
    ok_status: int

    def measured(self) -> list[Sample]:
        """Samples that started inside the measured window (warm-up excluded)."""
        return [s for s in self.samples if self.window_start <= s.start < self.window_end]

    def accepted_all(self) -> list[Sample]:
        """Every accepted request, warm-up included (all must be verified)."""
        return [s for s in self.samples if s.status == self.ok_status]

    def stats(self) -> dict[str, float]:
        """Requests, accepted, errors, throughput and latency percentiles of the window."""
        window = self.measured()
        accepted = [s for s in window if s.status == self.ok_status]
        latencies = sorted(s.latency_s * 1000 for s in accepted)
        seconds = self.window_end - self.window_start
        return {
            "requests": len(window),
            "accepted": len(accepted),
            "errors": len(window) - len(accepted),
            "rps": len(accepted) / seconds if seconds > 0 else 0.0,
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


def start_flower(stack: Stack, env: dict[str, str], port: int) -> str:
    """Start Flower on the same broker (unauthenticated API, local only); return its URL."""
    argv = [str(VENV_BIN / "celery"), "-A", "worker.app:celery_app", "flower"]
    argv += [f"--port={port}", "--address=127.0.0.1", "--persistent=False"]
    process = stack.spawn("flower", argv, {**env, "FLOWER_UNAUTHENTICATED_API": "true"})
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError("flower exited:\n" + stack.log_tail("flower"))
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
    name: str, make_request: RequestFactory, ok_status: int, terminals: int, seconds: float
) -> RunResult:
    """`terminals` clients loop sequential POSTs for warm-up + `seconds`, then stop."""
    counter = itertools.count()
    samples: list[Sample] = []
    start = time.monotonic()
    window_start = start + WARMUP_S
    window_end = window_start + seconds
    connector = aiohttp.TCPConnector(limit=terminals, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)

    async def terminal(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < window_end:
            url, headers, body = make_request(next(counter))
            t0 = time.monotonic()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    payload = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                samples.append(Sample(t0, time.monotonic() - t0, 0, None))
                continue
            latency = time.monotonic() - t0
            parsed = None
            if status == ok_status:
                with contextlib.suppress(ValueError):
                    parsed = json.loads(payload)
            samples.append(Sample(t0, latency, status, parsed))

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(terminal(session) for _ in range(terminals)))
    return RunResult(name, samples, window_start, window_end, ok_status)


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


def flower_requests(base: str) -> RequestFactory:
    """Request factory for Flower: same task, routed to a queue of its own."""
    url = f"{base}/api/task/async-apply/{TASK}"
    headers = {"Content-Type": "application/json"}

    def make(n: int) -> tuple[str, dict[str, str], bytes]:
        body = {"args": [1_000_000 + n], "queue": FLOWER_QUEUE}
        return url, headers, json.dumps(body).encode()

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


def print_table(results: list[RunResult]) -> None:
    """A readable side-by-side summary."""
    header = f"{'target':<28}{'requests':>10}{'accepted':>10}{'errors':>8}"
    header += f"{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    print(header)
    print("-" * len(header))
    for run in results:
        s = run.stats()
        print(
            f"{run.name:<28}{s['requests']:>10}{s['accepted']:>10}{s['errors']:>8}"
            f"{s['rps']:>10.1f}{s['p50_ms']:>9.1f}{s['p99_ms']:>9.1f}{s['max_ms']:>9.1f}"
        )


def error_summary(run: RunResult) -> str:
    """Status codes of failed requests, e.g. '500x3, 0x1'."""
    codes: dict[int, int] = {}
    for s in run.samples:
        if s.status != run.ok_status:
            codes[s.status] = codes.get(s.status, 0) + 1
    return ", ".join(f"{code}x{count}" for code, count in sorted(codes.items())) or "none"


def parse_args() -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per target")
    parser.add_argument("--terminals", type=int, default=20, help="concurrent clients")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--web-threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--redis-port", type=int, default=6395, help="preferred private port")
    parser.add_argument("--db-name", default="medtriage_bench", help="throwaway database")
    parser.add_argument("--skip-flower", action="store_true", help="measure MedTriage only")
    return parser.parse_args()


def on_signal(_signum: int, _frame: object) -> None:
    """Turn SIGINT/SIGTERM into KeyboardInterrupt so the same cleanup runs."""
    raise KeyboardInterrupt


def run_benchmark(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    """Bring the stack up, load both targets, verify, print; return the verdict."""
    redis_url = start_redis(stack, free_port(args.redis_port))
    stack.create_db()
    env = app_env(stack, redis_url, free_port(), args.web_workers, args.web_threads)
    token = prepare_app(env)
    base = start_web(stack, env)
    print(
        f"MedTriage: gunicorn {args.web_workers} workers x {args.web_threads} threads at {base}; "
        f"{args.terminals} terminals, {WARMUP_S:.0f} s warm-up + {args.seconds:.0f} s measured",
        flush=True,
    )
    ours = asyncio.run(
        drive("medtriage POST /api/v1/cases", ours_requests(base, token, 7), 202,
              args.terminals, args.seconds)
    )  # fmt: skip
    stack.stop("web")  # the two targets never share the CPU
    results = [ours]
    flower_run = None
    if not args.skip_flower:
        flower_base = start_flower(stack, env, free_port())
        print(f"Flower: {flower_base} (same Redis broker, queue {FLOWER_QUEUE!r})", flush=True)
        flower_run = asyncio.run(
            drive("flower POST async-apply", flower_requests(flower_base), 200,
                  args.terminals, args.seconds)
        )  # fmt: skip
        stack.stop("flower")
        results.append(flower_run)
    print()
    print_table(results)
    check = verify_ours(env["MEDTRIAGE_DATABASE_URL"], redis_url, ours)
    print()
    print(
        f"medtriage: {check['accepted']} accepted (warm-up included), {check['unique']} unique ids,"
        f" {check['missing_from_db']} missing from DB, {check['never_enqueued']} never enqueued;"
        f" {check['queued_messages']} case ids queued; failed requests: {error_summary(ours)}"
    )
    ours_stats = ours.stats()
    verdict: dict[str, Any] = {
        "ratio_vs_flower": None,
        "p99_ms": round(ours_stats["p99_ms"], 1),
        "lost": check["lost"],
        "ours_rps": round(ours_stats["rps"], 1),
        "flower_rps": None,
        "flower_p99_ms": None,
        "terminals": args.terminals,
        "seconds": args.seconds,
        "web_workers": args.web_workers,
        "web_threads": args.web_threads,
    }
    if flower_run is not None:
        fcheck = verify_flower(redis_url, flower_run)
        fstats = flower_run.stats()
        print(
            f"flower: {fcheck['accepted']} accepted, {fcheck['queued_messages']} messages queued,"
            f" {fcheck['missing']} missing; failed requests: {error_summary(flower_run)}"
        )
        verdict.update(
            ratio_vs_flower=round(ours_stats["rps"] / fstats["rps"], 3) if fstats["rps"] else None,
            flower_rps=round(fstats["rps"], 1),
            flower_p99_ms=round(fstats["p99_ms"], 1),
        )
    ratio = verdict["ratio_vs_flower"]
    met = (
        ratio is not None
        and ratio >= GOAL_RATIO
        and verdict["p99_ms"] <= GOAL_P99_MS
        and verdict["lost"] == 0
    )
    print(
        f"goal (ratio >= {GOAL_RATIO}, p99 <= {GOAL_P99_MS:.0f} ms, 0 lost): "
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
