"""The CRNN engine on synthetic report pages: item names, indicators (name and value
both exact), printed ranges, and time per page, on clean and photographed pages.

    .venv/bin/python bench/crnn_pages.py [--pages 20] [--first-seed 5000] [--model DIR] [--no-lexicon]

Photographed pages are turned upright and deskewed from their ground truth (standing in
for ml.ocr.preprocess); their perspective warp, blur, noise and shading stay. Seeds from
5000 up are not used by any test. One intra-op thread.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=5000)
    parser.add_argument("--model", default=None)
    parser.add_argument("--misses", action="store_true", help="print the items not recovered")
    parser.add_argument("--no-lexicon", action="store_true", help="raw model readings, no lexicon correction")
    args = parser.parse_args()

    from ml.labreport.synth import SynthConfig, render_cbc_report
    from ml.ocr.crnn.config import WEIGHTS_DIR
    from ml.ocr.crnn.evaluate import score_page, upright_photo
    from ml.ocr.engines.crnn import CrnnEngine

    engine = CrnnEngine(args.model or WEIGHTS_DIR, use_lexicon=not args.no_lexicon)
    engine.read(render_cbc_report(seed=0, config=SynthConfig(photo=None))[0])  # warm up
    results = {}
    for kind, config in (("clean", SynthConfig(photo=None)), ("photo", SynthConfig())):
        totals = {"items": 0, "names": 0, "indicators": 0, "ranges": 0}
        times = []
        for seed in range(args.first_seed, args.first_seed + args.pages):
            image, truth = render_cbc_report(seed=seed, config=config)
            if kind == "photo":
                image = upright_photo(image, truth)
            started = time.perf_counter()
            words = engine.read(image)
            times.append(time.perf_counter() - started)
            page = score_page(words, truth)
            for key in totals:
                totals[key] += page[key]
            if args.misses and page["indicators"] < page["items"]:
                print(kind, seed, sorted(w.text for w in words)[:80])
        items = totals["items"]
        times.sort()
        results[kind] = {
            "pages": args.pages,
            "name_recall": round(totals["names"] / items, 4),
            "indicator_accuracy": round(totals["indicators"] / items, 4),
            "range_recall": round(totals["ranges"] / items, 4),
            "seconds_per_page_p50": round(statistics.median(times), 3),
            "seconds_per_page_p95": round(times[min(len(times) - 1, int(0.95 * len(times)))], 3),
        }
    print(json.dumps({"engine": engine.name, "version": engine.version, "lexicon": not args.no_lexicon, **results}, indent=2))


if __name__ == "__main__":
    main()
