"""Command line for the lab-report pipeline.

    python -m ml.labreport extract IMAGE... [--engine tesseract|rapidocr|crnn|auto] [--sex M|F] [--age N]
        prints one JSON object per image: file, rotation, items, timings_ms
        (and "error" instead when the file cannot be read as a report image)
    python -m ml.labreport synth --out DIR [--count N] [--seed S] [--varied] [--values-csv PATH]
        writes generated report photos (NNNN.jpg) with their ground truth (NNNN.json)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ITEM_FIELDS = ("code", "name", "value", "unit", "range_low", "range_high", "flag")


def _extract(args) -> int:
    from ml.labreport.images import ImageRejected, decode_upload
    from ml.labreport.pipeline import analyse_image

    status = 0
    for path in args.images:
        record: dict = {"file": path}
        try:
            upload = decode_upload(Path(path).read_bytes())  # the API's checks: type, size, bombs, PDF
            analysis = analyse_image(upload.pages[0], engine=args.engine, sex=args.sex, age=args.age)
        except ImageRejected as error:
            record["error"], record["reason"] = error.code, error.message
            status = 1
        except OSError as error:
            record["error"], record["reason"] = "unreadable_file", str(error)
            status = 1
        else:
            record.update(rotation=analysis.rotation, engine=analysis.engine,
                          items=[{key: getattr(item, key) for key in ITEM_FIELDS} for item in analysis.items],
                          timings_ms=analysis.timings_ms)
            if analysis.warnings:
                record["warnings"] = analysis.warnings
        print(json.dumps(record, ensure_ascii=False), flush=True)
    return status


def _synth(args) -> int:
    import cv2

    from ml.labreport.synth import VARIED, SynthConfig, render_report

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = SynthConfig(**(VARIED if args.varied else {}), values_csv=args.values_csv)
    for seed in range(args.seed, args.seed + args.count):
        image, truth = render_report(seed, config)
        cv2.imwrite(str(out / f"{seed:06d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        (out / f"{seed:06d}.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {args.count} reports to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.labreport", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    extract = commands.add_parser("extract", help="read lab report photos and print their indicators as JSON")
    extract.add_argument("images", nargs="+")
    extract.add_argument("--engine", default="tesseract", choices=("tesseract", "rapidocr", "crnn", "auto"))
    extract.add_argument("--sex", choices=("M", "F"), default=None, help="for the fallback reference ranges")
    extract.add_argument("--age", type=int, default=None)
    extract.set_defaults(run=_extract)

    synth = commands.add_parser("synth", help="write generated report photos with ground truth")
    synth.add_argument("--out", required=True)
    synth.add_argument("--count", type=int, default=20)
    synth.add_argument("--seed", type=int, default=1_000_000)
    synth.add_argument("--varied", action="store_true", help="all panels, layouts and fonts (default: blood count)")
    synth.add_argument("--values-csv", default=None, help="real blood counts (sex, age, WBC, ...) to draw from")
    synth.set_defaults(run=_synth)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
