"""Site calibration benchmark: simulated cases through the real clinical engine, training
(rules recalibrated, logistic regression, gradient boosting), scoring time per case, and the
report's figures on the held-out most recent months.

Run: `.venv/bin/python bench/calibration.py [--n 50000] [--seed 0] [--threshold 0.3]`

The outcome of each simulated case follows known coefficients (shared/calibration/
simulator.py), so the learned ones are printed beside the truth. Times are wall-clock on this
machine (training runs on one thread, as in `medtriage calibrate train`). The last line is
one JSON object: auroc, calibration_slope, under_triage_before, under_triage_after and the
times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.calibration.features import feature_names
from shared.calibration.nudge import Scorer, nudge
from shared.calibration.simulator import TRUE_COEFFICIENTS, simulate
from shared.calibration.training import Dataset, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=0.3)
    args = parser.parse_args()

    started = time.perf_counter()
    data = Dataset(feature_names())
    for sim in simulate(args.n, seed=args.seed):
        data.add(sim.features, sim.outcome, sim.arrived, int(sim.assessment.acuity))
    simulate_s = time.perf_counter() - started
    print(f"simulated {args.n} cases through the engine in {simulate_s:.1f} s "
          f"({data.events} critical outcomes, {data.events / args.n:.1%})")  # fmt: skip

    started = time.perf_counter()
    trained = train(data, threshold=args.threshold, seed=args.seed)
    train_s = time.perf_counter() - started
    print(f"trained (recalibration, logistic, gradient boosting, bootstrap) in {train_s:.1f} s")

    scorer = Scorer.from_json(1, trained.features, trained.model)
    rows = data.rows[-5000:]
    timings = []
    for row in rows:
        t0 = time.perf_counter()
        score = scorer.score(row)
        nudge(int(row["acuity"]), score.probability, args.threshold)
        timings.append((time.perf_counter() - t0) * 1e6)
    score_us = statistics.median(timings)
    print(f"scoring + nudge per case: median {score_us:.0f} us, "
          f"p99 {sorted(timings)[int(0.99 * len(timings))]:.0f} us")  # fmt: skip

    print("\ncoefficient      truth  learned")
    for name, truth in TRUE_COEFFICIENTS.items():
        print(f"{name:16} {truth:+.2f}  {trained.model['coefficients'][name]:+.2f}")
    split = trained.metrics["split"]
    print(f"\ntest: the most recent {split['test_cases']} cases ({split['test_events']} outcomes)")
    print(f"{'model':20} {'AUROC (95% CI)':24} {'AUPRC (95% CI)':24} slope  icpt  Brier")
    for name, m in trained.metrics["models"].items():
        auroc = f"{m['auroc']:.3f} ({m['auroc_ci'][0]:.3f}-{m['auroc_ci'][1]:.3f})"
        auprc = f"{m['auprc']:.3f} ({m['auprc_ci'][0]:.3f}-{m['auprc_ci'][1]:.3f})"
        print(f"{name:20} {auroc:24} {auprc:24} {m['calibration_slope']:.2f}  "
              f"{m['calibration_intercept']:+.2f} {m['brier']:.4f}")  # fmt: skip
    recal = trained.model["recalibration"]
    print(f"rules recalibrated: intercept {recal['intercept']:+.2f}, slope {recal['slope']:.2f}")
    under = trained.metrics["under_triage"]
    print(f"\nunder-triage (critical outcomes placed at 4-5 / all critical outcomes): "
          f"{under['before']['rate']:.3%} before, {under['after']['rate']:.3%} after the nudge "
          f"at {args.threshold} ({under['nudged']} cases nudged)")  # fmt: skip
    for row in under["by_threshold"]:
        print(f"  threshold {row['threshold']:<5} -> {row['rate']:.3%} "
              f"({row['critical_at_4_5']} left at 4-5, {row['nudged']} nudged)")  # fmt: skip

    logistic = trained.metrics["models"]["logistic"]
    boosted = trained.metrics["models"]["gradient_boosting"]["auroc"]
    print(json.dumps({
        "cases": args.n,
        "events": data.events,
        "simulate_s": round(simulate_s, 2),
        "train_s": round(train_s, 2),
        "score_us_per_case": round(score_us, 1),
        "auroc": round(logistic["auroc"], 4),
        "auprc": round(logistic["auprc"], 4),
        "calibration_slope": round(logistic["calibration_slope"], 3),
        "calibration_intercept": round(logistic["calibration_intercept"], 3),
        "brier": round(logistic["brier"], 5),
        "gradient_boosting_auroc": round(boosted, 4),
        "under_triage_before": round(under["before"]["rate"], 4),
        "under_triage_after": round(under["after"]["rate"], 4),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
