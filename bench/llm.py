"""LLM benchmark through the worker path: intake over the JSON API, a real Celery worker
(prefork, concurrency 1) running the `model-text` pipeline with the configured profile,
results read back from the database.

Run: `.venv/bin/python bench/llm.py [--profile gemma3-270m] [--cases 2] [--max-new-tokens 160]`
(needs the [model] extra; the default profile is the small real Gemma 3 270M, converted once
into .pytest_cache/medtriage-models as the tests do).

In one run, each with its own worker: schema-constrained decoding (xgrammar) and
unconstrained decoding, each on N distinct cases (cache misses), then the same N cases again
on the constrained worker (cache hits: identical input, same revision and prompt version).
Then batched vs one by one (MEDTRIAGE_MODEL_BATCH_SIZE): the same --batch cases queued first,
then a worker started with batch size 1, and another with batch size --batch; each round's
wall time runs from the first case claimed to the last stored (model load excluded), so
cases/s and tokens/s (all tokens written / wall time) compare directly; `batch_speedup` is
the ratio of their cases/s. Per-token cost is what compares constrained with unconstrained:
the two write different text. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from shared import accounts  # noqa: E402
from shared.config import Settings  # noqa: E402
from shared.db import Case, Result, Role, make_engine, make_session_factory  # noqa: E402
from shared.migrate import upgrade  # noqa: E402
from tests.support.models import CACHE, small_gemma  # noqa: E402
from tests.support.services import RedisServer, WorkerProcess, wait_for  # noqa: E402
from web import create_app  # noqa: E402

NOTES = [
    ("chest pain", "Central chest pain for 1 hour radiating to the left arm, sweaty."),
    ("shortness of breath", "Short of breath for two days with a productive cough, feels hot."),
    ("abdominal pain", "Right lower abdominal pain since last night, vomited twice."),
    ("headache", "Sudden severe headache while lifting, worst ever, neck stiffness."),
    ("ankle pain", "Twisted right ankle playing football, walking with a limp."),
    ("fever", "Fever and rigors for one day, burning on passing urine."),
]


def body(i: int) -> dict[str, Any]:
    complaint, note = NOTES[i % len(NOTES)]
    return {
        "age_years": 30 + 7 * (i % 8),
        "chief_complaint": complaint,
        "note": f"{note} Case {i}.",
        "vitals": {"heart_rate": 80 + 3 * (i % 10), "respiratory_rate": 16 + i % 5, "spo2": 97,
                   "systolic_bp": 128, "temperature_c": 37.2},
    }  # fmt: skip


def run_round(app_client, token: str, sessions, n: int, offset: int, timeout: float) -> dict:
    """Submit n cases at once, wait until all are analyzed, read their results."""
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    ids = []
    for i in range(n):
        answer = app_client.post("/api/v1/cases", json=body(offset + i), headers=headers)
        assert answer.status_code == 202, answer.get_data(as_text=True)
        ids.append(answer.get_json()["id"])

    def done() -> bool:
        with sessions() as s:
            rows = s.scalars(select(Case.status).where(Case.public_id.in_(ids))).all()
        return len(rows) == n and all(r.value in ("analyzed", "failed") for r in rows)

    wait_for(done, timeout, f"{n} cases", step=0.5)
    wall = time.perf_counter() - started
    with sessions() as s:
        rows = s.execute(
            select(Result.duration_ms, Result.payload).join(Case).where(Case.public_id.in_(ids))
        ).all()
    runs = [payload["details"]["model_run"] for _, payload in rows]
    decode_ms = sum(r["timings_ms"].get("decode", 0) + r["timings_ms"].get("repair_decode", 0)
                    for r in runs)  # fmt: skip
    tokens = sum(r["tokens_out"] for r in runs)
    return {
        "cases": len(rows),
        "wall_s": round(wall, 2),
        "cases_per_s": round(len(rows) / wall, 4),
        "p50_s": round(statistics.median(d for d, _ in rows) / 1000, 3),
        "tokens_out": tokens,
        "tokens_per_s": round(tokens / (decode_ms / 1000), 2) if decode_ms else 0.0,
        "ms_per_token": round(decode_ms / tokens, 2) if tokens else 0.0,
        "cache_hits": sum(r["cache_hit"] for r in runs),
        "outcomes": {o: sum(r["outcome"] == o for r in runs) for o in {r["outcome"] for r in runs}},
        "load_s": round(runs[0]["load_ms"] / 1000, 2) if runs else 0.0,
    }


def run_queued(
    client, token: str, sessions, settings: Settings, logdir: Path, n: int, timeout: float
) -> dict:
    """Queue n cases, then start a worker with the settings' batch size; time from the first
    case claimed to the last stored, so the model load is left out."""
    headers = {"Authorization": f"Bearer {token}"}
    ids = []
    for i in range(n):
        answer = client.post("/api/v1/cases", json=body(200 + i), headers=headers)
        assert answer.status_code == 202, answer.get_data(as_text=True)
        ids.append(answer.get_json()["id"])
    logdir.mkdir()
    worker = WorkerProcess(settings, logdir)
    worker.start()
    try:

        def done() -> bool:
            with sessions() as s:
                rows = s.scalars(select(Case.status).where(Case.public_id.in_(ids))).all()
            return all(r.value in ("analyzed", "failed") for r in rows)

        wait_for(done, timeout, f"{n} queued cases", step=0.5)
    finally:
        worker.stop()
    with sessions() as s:
        rows = s.execute(
            select(Case.started_at, Case.analyzed_at, Result.payload)
            .join(Result)
            .where(Case.public_id.in_(ids))
        ).all()
    wall = (max(r.analyzed_at for r in rows) - min(r.started_at for r in rows)).total_seconds()
    runs = [r.payload["details"]["model_run"] for r in rows]
    tokens = sum(r["tokens_out"] for r in runs)
    return {
        "cases": len(rows),
        "batch_size": settings.model_batch_size,
        "wall_s": round(wall, 2),
        "cases_per_s": round(len(rows) / wall, 4),
        "tokens_out": tokens,
        "tokens_per_s": round(tokens / wall, 2),
        "batch_sizes": sorted(r["batch_size"] for r in runs),
        "outcomes": {o: sum(r["outcome"] == o for r in runs) for o in {r["outcome"] for r in runs}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="gemma3-270m")
    parser.add_argument("--models-dir", default=str(CACHE))
    parser.add_argument("--cases", type=int, default=2)
    parser.add_argument("--batch", type=int, default=3, help="cases per batch (and per round)")
    parser.add_argument("--max-new-tokens", type=int, default=160)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    if args.profile == "gemma3-270m" and args.models_dir == str(CACHE):
        small_gemma()  # converted once, as the tests do

    work = Path(tempfile.mkdtemp(prefix="bench-llm-"))
    redis_server = RedisServer(work)
    redis_server.start()
    url = f"sqlite:///{work / 'bench.db'}"
    upgrade(Settings(database_url=url))
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions.begin() as s:
        user = accounts.create_user(s, "bench", "correct-horse-battery", Role.NURSE)
        token = accounts.create_token(s, user, "bench")
    base = Settings(
        instance_path=work / "instance", database_url=url, redis_url=redis_server.url,
        secret_key="bench", pipeline="model-text", model_chain=args.profile,
        models_dir=args.models_dir, model_max_new_tokens=args.max_new_tokens,
        device=args.device, task_soft_time_limit_s=3000, task_time_limit_s=3100,
    )  # fmt: skip
    client = create_app(base, {"TESTING": True}).test_client()
    rounds: dict[str, dict] = {}
    try:
        for mode, constrained in (("unconstrained", False), ("constrained", True)):
            settings = base.model_copy(update={"model_constrained": constrained})
            worker = WorkerProcess(settings, work / mode)
            (work / mode).mkdir()
            worker.start()
            try:
                offset = 0 if constrained else 100  # distinct cases: misses in each mode
                rounds[mode] = run_round(client, token, sessions, args.cases, offset, args.timeout)
                if constrained:  # the same cases again: identical input, cache hits
                    rounds["cache_hit"] = run_round(
                        client, token, sessions, args.cases, offset, args.timeout
                    )
            finally:
                worker.stop()
            print(mode, json.dumps(rounds[mode]), flush=True)
        print("cache_hit", json.dumps(rounds["cache_hit"]), flush=True)
        for mode, size in (("one_by_one", 1), ("batched", args.batch)):
            settings = base.model_copy(update={"model_batch_size": size})
            rounds[mode] = run_queued(
                client, token, sessions, settings, work / mode, args.batch, args.timeout
            )
            print(mode, json.dumps(rounds[mode]), flush=True)
    finally:
        engine.dispose()
        redis_server.stop()
        shutil.rmtree(work, ignore_errors=True)
    miss, free, hit = rounds["constrained"], rounds["unconstrained"], rounds["cache_hit"]
    overhead = miss["ms_per_token"] / free["ms_per_token"] if free["ms_per_token"] else None
    single, batched = rounds["one_by_one"], rounds["batched"]
    print(json.dumps({
        "profile": args.profile,
        "cases": args.cases,
        "max_new_tokens": args.max_new_tokens,
        "cases_per_s": miss["cases_per_s"],
        "tokens_per_s": miss["tokens_per_s"],
        "unconstrained_tokens_per_s": free["tokens_per_s"],
        "constrained_overhead": round(overhead, 3) if overhead else None,
        "p50_s": miss["p50_s"],
        "cache_hit_p50_s": hit["p50_s"],
        "cache_hit_cases_per_s": hit["cases_per_s"],
        "cache_hits": hit["cache_hits"],
        "batch": args.batch,
        "one_by_one_cases_per_s": single["cases_per_s"],
        "batched_cases_per_s": batched["cases_per_s"],
        "one_by_one_tokens_per_s": single["tokens_per_s"],
        "batched_tokens_per_s": batched["tokens_per_s"],
        "batch_speedup": round(batched["cases_per_s"] / single["cases_per_s"], 3),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
