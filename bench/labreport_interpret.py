"""Time the lab-report interpretation per report, warm (model loaded once), on one core.

    .venv/bin/python bench/labreport_interpret.py [--reports 500] [--seed 4000000]

Prints the model load time and p50/p95 per report for the rules alone and for rules +
the conclusion model, over generated reports (ml/labreport/conclusion/data.py).
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from ml.labreport.conclusion.data import generate_case  # noqa: E402
from ml.labreport.conclusion.serving import load  # noqa: E402
from ml.labreport.interpret import interpret  # noqa: E402


def percentiles(samples_ms: list[float]) -> str:
    return f"p50 {np.percentile(samples_ms, 50):.2f} ms  p95 {np.percentile(samples_ms, 95):.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--seed", type=int, default=4_000_000)
    args = parser.parse_args()
    cases = [generate_case(seed) for seed in range(args.seed, args.seed + args.reports)]
    started = time.perf_counter()
    load()
    print(f"model load (TensorFlow import included): {(time.perf_counter() - started) * 1000:.0f} ms")
    interpret(*cases[0][:1], sex=cases[0][1], age=cases[0][2])  # warm jieba and the model
    for label, use_model in (("rules only", False), ("rules + model", True)):
        samples = []
        for items, sex, age in cases:
            started = time.perf_counter()
            interpret(items, sex=sex, age=age, use_model=use_model)
            samples.append((time.perf_counter() - started) * 1000)
        print(f"{label:14s} {args.reports} reports: {percentiles(samples)}")


if __name__ == "__main__":
    main()
