"""Intake CPU per case: the provisional assessment of this tree against a baseline revision,
on the same cases, in the same run.

Run: `.venv/bin/python bench/intake_cpu.py [--baseline acd110c] [--rounds 7]`

Intake computes the provisional acuity at once, inside the request, with
`shared.clinical.engine.assess_case` (shared/cases.py); that call is what a nurse waits for
and what this measures, in CPU seconds (`time.process_time`), so a busy machine slows both
trees alike. The baseline (default acd110c, the engine before issue 6) is taken out of git
into a temporary folder; each tree runs in a subprocess of its own (its own imports), the
trees alternating round by round, and the median round is kept.

Three sets of cases: our vignettes as written (tests/data/vignettes.jsonl, short notes with
typed vital signs), the ESI handbook cases (../shared/data, paragraph notes, vitals in the
text), and long notes (2,000+ characters, ESI cases run together), since intake accepts
notes up to the schema's limit.

The last line is one JSON object: ms per case for each set and tree, and the ratios.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VIGNETTES = ROOT / "tests" / "data" / "vignettes.jsonl"
ESI_CSV = ROOT.parent / "shared" / "data" / "esi_v4_handbook_train.csv"
BASELINE = "acd110cda8bafde4050ca3da380183bf9fa6aeef"  # the seed's engine, before issue 6
CASE_FIELDS = ("age_years", "sex", "pregnant", "chief_complaint", "note", "vitals")
# Vital-sign fields the baseline's schema knows (it forbids extra fields).
BASELINE_VITALS = (
    "heart_rate", "respiratory_rate", "spo2", "spo2_scale2", "on_oxygen", "systolic_bp",
    "diastolic_bp", "temperature_c", "consciousness", "pain",
)  # fmt: skip


def case_sets() -> dict[str, list[dict[str, Any]]]:
    """The three sets, as plain dicts both trees' `CaseIn` accept."""
    vignettes = []
    for line in VIGNETTES.read_text().splitlines():
        row = json.loads(line)
        case = {k: row[k] for k in CASE_FIELDS if k in row}
        case["vitals"] = {k: v for k, v in case.get("vitals", {}).items() if k in BASELINE_VITALS}
        vignettes.append(case)
    with ESI_CSV.open(newline="", encoding="utf-8") as f:
        notes = [row["Clinical Vignettes"].strip() for row in csv.DictReader(f)]
    esi = [
        {"age_years": 40, "chief_complaint": note.split(".")[0][:200], "note": note}
        for note in notes
    ]
    long_notes = []
    for i in range(len(notes)):
        note = " ".join(notes[(i + k) % len(notes)] for k in range(6))[:4000]
        long_notes.append({"age_years": 40, "chief_complaint": "review", "note": note})
    return {"vignettes": vignettes, "esi": esi, "long": long_notes}


def worker(tree: str, cases_path: str, repeat: int) -> None:
    """In a subprocess: CPU ms per case of `tree`'s assess_case, per set."""
    sys.path.insert(0, tree)
    from shared.clinical.engine import assess_case
    from shared.schemas import CaseIn

    sets = json.loads(Path(cases_path).read_text())
    out = {}
    for name, raw in sets.items():
        cases = [CaseIn.model_validate(c) for c in raw]
        for case in cases:  # warm: patterns compiled, vocabularies loaded
            assess_case(case)
        started = time.process_time()
        for _ in range(repeat):
            for case in cases:
                assess_case(case)
        out[name] = (time.process_time() - started) / (repeat * len(cases)) * 1000
    print(json.dumps(out))


def extract(revision: str, into: Path) -> Path:
    """The `shared` package of `revision`, written under `into`."""
    archive = subprocess.run(
        ["git", "archive", revision, "shared"], capture_output=True, check=True, cwd=ROOT
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def run_tree(tree: Path, cases_path: Path, repeat: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", str(tree), "--cases", str(cases_path),
         "--repeat", str(repeat)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (median kept)")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the cases per round")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--cases", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.cases, args.repeat)
        return

    with tempfile.TemporaryDirectory() as tmp:
        sets = case_sets()
        cases_path = Path(tmp) / "cases.json"
        cases_path.write_text(json.dumps(sets))
        trees = {"baseline": extract(args.baseline, Path(tmp) / "baseline"), "now": ROOT}
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                rounds[name].append(run_tree(tree, cases_path, args.repeat))

    summary: dict[str, Any] = {"baseline": args.baseline[:12]}
    print(f"provisional assessment, CPU ms per case, median of {args.rounds} rounds")
    print(f"{'set':<10}{'cases':>7}{'mean chars':>12}{'baseline':>11}{'now':>9}{'now/base':>10}")
    for name, cases in sets.items():
        base = statistics.median(r[name] for r in rounds["baseline"])
        now = statistics.median(r[name] for r in rounds["now"])
        chars = sum(len(c.get("note", "")) for c in cases) / len(cases)
        print(f"{name:<10}{len(cases):>7}{chars:>12.0f}{base:>11.3f}{now:>9.3f}{now / base:>10.2f}")
        summary |= {f"{name}_ms_baseline": round(base, 3), f"{name}_ms_now": round(now, 3),
                    f"{name}_ratio": round(now / base, 2)}  # fmt: skip
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
