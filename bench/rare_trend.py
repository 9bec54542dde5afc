"""Access-trend model of rare cases: first model vs incrementally updated vs retrained.

    PYTHONPATH=. .venv/bin/python bench/rare_trend.py [--cases 3000] [--periods 48] [--drift-at 30]
        [--held-out 6] [--min-propagation 10] [--seed 1] [--ablation]

A generated access history with known dynamics (ml/rare_trend/synthetic.py): latent
popularity, seasonality, forwarding cascades that bring a burst of access in the
next period, and from --drift-at on a new channel of mass broadcasts (shares, one
hop) that bring access at once and nothing after.

(a) first model: trained on the rows whose labels lie before the drift (80% of
    them; 20% are the old validation rows).
(b) incremental: (a) updated on the post-drift rows whose propagation index is at
    least --min-propagation (the issue's step 6), rehearsing old training rows,
    EWC anchor, gated on the old validation loss (bound 2%).
(c) retrained: a new model on every row before the held-out periods.
All three are scored on the last --held-out feature periods (every case), overall
and on the rows with a high propagation index. --ablation adds updates with other
anchors and with a random selection of new rows of the same size.
"""

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml.rare_trend import (UpdateConfig, build_dataset, evaluate, generate_access_history,  # noqa: E402
                           incremental_update, predict_index, train_model)
from ml.rare_trend.data import TrendFeatures  # noqa: E402


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def _row(name, overall, high, seconds):
    auroc = lambda m: "-" if m["auroc"] is None else f"{m['auroc']:.3f}"  # noqa: E731
    return (f"{name:<40} {overall['accuracy']:>7.3f} {auroc(overall):>7} {overall['log_loss']:>8.3f}   "
            f"{high['accuracy']:>7.3f} {auroc(high):>7}   {seconds:>7.1f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--periods", type=int, default=48)
    parser.add_argument("--drift-at", type=int, default=30)
    parser.add_argument("--held-out", type=int, default=6)
    parser.add_argument("--min-propagation", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ablation", action="store_true")
    args = parser.parse_args()
    print(_load(), "at the start")

    started = time.perf_counter()
    history = generate_access_history(args.cases, args.periods, seed=args.seed, drift_at=args.drift_at)
    print(f"history: {args.cases} cases x {args.periods} periods, drift at {args.drift_at}, generated in "
          f"{time.perf_counter() - started:.1f} s; mean access {history.access.mean():.1f} per case-period")

    held_start = args.periods - 1 - args.held_out
    old_X, old_y = build_dataset(history, periods=range(0, args.drift_at - 1))
    order = np.random.default_rng(args.seed).permutation(len(old_X))
    cut = len(old_X) // 5
    old_val = old_X[order[:cut]], old_y[order[:cut]]
    old_train = old_X[order[cut:]], old_y[order[cut:]]
    new_periods = range(args.drift_at, held_start)
    new = build_dataset(history, periods=new_periods, min_propagation=args.min_propagation)
    all_new = build_dataset(history, periods=new_periods)
    everything = build_dataset(history, periods=range(0, held_start))
    held_X, held_y, held_keys = build_dataset(history, periods=range(held_start, args.periods - 1), with_keys=True)
    high = history.propagation[held_keys[:, 0], held_keys[:, 1]] >= args.min_propagation
    print(f"rows: first model {len(old_train[0])} (+{len(old_val[0])} old validation); post-drift {len(all_new[0])}, "
          f"of which propagation >= {args.min_propagation:g}: {len(new[0])}; retrain {len(everything[0])}; "
          f"held out {len(held_X)} (high propagation {int(high.sum())}), rising {held_y.mean():.1%}")

    results = []

    def score(name, model, seconds):
        results.append(_row(name, evaluate(model, held_X, held_y), evaluate(model, held_X[high], held_y[high]),
                            seconds))

    started = time.perf_counter()
    first = train_model(*old_train, seed=args.seed)
    first_seconds = time.perf_counter() - started
    score("(a) first model", first, first_seconds)
    print(f"(a) trained {first.training['epochs_run']} epochs (best {first.training['best_epoch']}); "
          f"old validation {evaluate(first, *old_val)}")

    def update(name, rows, config=UpdateConfig()):
        began = time.perf_counter()
        model, report = incremental_update(first, *rows, rehearsal=old_train, old_val=old_val, config=config,
                                           seed=args.seed)
        seconds = time.perf_counter() - began
        print(f"{name}: {report.message}; {report.fit_rows} new + {report.rehearsal_rows} rehearsed rows, "
              f"{report.epochs_run} epochs, old accuracy {report.old_accuracy_before:.3f} -> "
              f"{report.old_accuracy_after:.3f}")
        score(name + ("" if report.accepted else " (refused: first model)"), model, seconds)

    update("(b) incremental, propagation-selected", new)
    if args.ablation:
        pick = np.random.default_rng(args.seed).choice(len(all_new[0]), size=len(new[0]), replace=False)
        update("    same, random selection", (all_new[0][pick], all_new[1][pick]))
        update("    same, anchor l2", new, replace(UpdateConfig(), anchor="l2"))
        update("    same, rehearsal only", new, replace(UpdateConfig(), anchor="none"))
        update("    same, no rehearsal, no anchor", new, replace(UpdateConfig(), anchor="none", rehearsal_ratio=0))

    started = time.perf_counter()
    retrained = train_model(*everything, seed=args.seed)
    score("(c) retrained from scratch", retrained, time.perf_counter() - started)

    majority = max(held_y.mean(), 1 - held_y.mean())
    print(f"\nheld-out periods {held_start}..{args.periods - 2} (labels from the next period); "
          f"majority-class accuracy {majority:.3f}")
    print(f"{'model':<40} {'acc':>7} {'AUROC':>7} {'logloss':>8}   {'hi-acc':>7} {'hi-AUC':>7}   {'seconds':>7}")
    print("\n".join(results))

    features = [TrendFeatures.from_vector(x) for x in held_X[:300]]
    latencies = []
    for item in features:
        began = time.perf_counter()
        predict_index(first, item)
        latencies.append((time.perf_counter() - began) * 1000)
    began = time.perf_counter()
    first.predict(held_X[:10000])
    batch_ms = (time.perf_counter() - began) * 1000
    print(f"\npredict_index one case: p50 {statistics.median(latencies):.2f} ms, "
          f"p95 {np.percentile(latencies, 95):.2f} ms; {min(10000, len(held_X))} cases in one batch {batch_ms:.0f} ms")
    print(_load(), "at the end")


if __name__ == "__main__":
    main()
