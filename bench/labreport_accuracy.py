"""Indicator accuracy and per-image time of every OCR engine on generated report photos.

    python bench/labreport_accuracy.py [--count 200] [--seed 1000000] [--engines tesseract,rapidocr,crnn]
                                       [--cbc-only] [--values-csv PATH] [--jobs 1]

Photos are rendered by ml/labreport/synth.py from seeds starting at 1,000,000 (no
training run uses seeds that high): all panels, layouts and fonts unless --cbc-only,
each photographed (perspective, skew up to 5 degrees, blur, noise, shadow) and turned
by 0/90/180/270 degrees. An indicator counts as right when its code is found and its
value equals the printed one exactly. Each process is pinned to one CPU core, so the
times are per-core figures; --jobs N reads N photos at once on N cores (accuracy only).
Prints one line per engine, side by side, then the misses by layout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")


def _pin(core: int | None = None) -> None:
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[(core or os.getpid()) % len(cores)]})


def _one(job):
    engine, seed, config = job
    from ml.labreport.pipeline import analyse_image
    from ml.labreport.synth import render_report

    image, truth = render_report(seed, config)
    started = time.perf_counter()
    analysis = analyse_image(image, engine=engine, sex=truth["sex"], age=truth["age"])
    elapsed = (time.perf_counter() - started) * 1000
    found = {item.code: item for item in analysis.items}
    right = sum(1 for item in truth["items"]
                if item["code"] in found and found[item["code"]].value == item["value"])
    flags_right = sum(1 for item in truth["items"] if item["code"] in found
                      and (found[item["code"]].flag or "N").replace("N", "") == item["flag"])
    misses = [item["code"] for item in truth["items"]
              if item["code"] not in found or found[item["code"]].value != item["value"]]
    return dict(seed=seed, layout=truth["layout"], panel=truth["panel"], items=len(truth["items"]), right=right,
                flags_right=flags_right, rotation_ok=analysis.rotation == truth["rotation"], ms=elapsed,
                extra=len(set(found) - {i["code"] for i in truth["items"]}), misses=misses)


def _warm(engine: str) -> None:
    from ml.ocr.engines import get_engine

    if engine != "auto":
        get_engine(engine)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1_000_000)
    parser.add_argument("--engines", default="tesseract,rapidocr,crnn")
    parser.add_argument("--cbc-only", action="store_true")
    parser.add_argument("--values-csv", default=None)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()

    from ml.labreport.synth import VARIED, SynthConfig

    config = SynthConfig(values_csv=args.values_csv, **({} if args.cbc_only else VARIED))
    seeds = range(args.seed, args.seed + args.count)
    print(f"{args.count} generated photos, seeds {args.seed}..{args.seed + args.count - 1}, "
          f"{'blood count only' if args.cbc_only else 'all panels, layouts and fonts'}; "
          f"one core per process, {os.cpu_count()} cores on this machine")
    header = f"{'engine':<10} {'accuracy':>9} {'flags':>7} {'rotation':>9} {'p50 ms':>8} {'p95 ms':>8} {'extra':>6}"
    rows, by_layout = [], {}
    for engine in args.engines.split(","):
        jobs = [(engine, seed, config) for seed in seeds]
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs, initializer=_pin) as pool:
                results = list(pool.map(_one, jobs, chunksize=4))
        else:
            _pin(0)
            _warm(engine)
            results = [_one(job) for job in jobs]
        total = sum(r["items"] for r in results)
        times = [r["ms"] for r in results]
        rows.append(f"{engine:<10} {sum(r['right'] for r in results) / total:>9.4f} "
                    f"{sum(r['flags_right'] for r in results) / total:>7.4f} "
                    f"{sum(r['rotation_ok'] for r in results) / len(results):>9.3f} "
                    f"{percentile(times, 0.5):>8.0f} {percentile(times, 0.95):>8.0f} "
                    f"{sum(r['extra'] for r in results):>6}")
        layout_stats = defaultdict(lambda: [0, 0])
        for r in results:
            layout_stats[r["layout"]][0] += r["right"]
            layout_stats[r["layout"]][1] += r["items"]
        by_layout[engine] = (dict(layout_stats), Counter(code for r in results for code in r["misses"]))
        print(header if len(rows) == 1 else "", rows[-1], sep="\n" if len(rows) == 1 else "", flush=True)
    print()
    print(header)
    print("\n".join(rows))
    for engine, (layouts, misses) in by_layout.items():
        shares = ", ".join(f"{layout} {right / total:.3f}" for layout, (right, total) in sorted(layouts.items()))
        print(f"{engine}: by layout {shares}; most missed {misses.most_common(5)}")


if __name__ == "__main__":
    main()
