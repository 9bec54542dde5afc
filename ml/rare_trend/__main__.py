"""python -m ml.rare_trend <command> ...

    generate HISTORY.npz [--cases 2000 --periods 48 --drift-at 30 --seed 1]
    train HISTORY.npz MODEL_DIR [--periods 0:29 --seed 1]
    evaluate MODEL_DIR HISTORY.npz [--periods 42:47]
    update MODEL_DIR HISTORY.npz OUT_DIR --new-periods 30:42 --old-periods 0:29
           [--min-propagation 10 --max-degradation 0.02 --anchor ewc --seed 1]
    predict MODEL_DIR CASES.json      (a list of {"periods": [{"clicks": .., ...}, ...], "propagation": ..})
    propagation EVENTS.jsonl [--now T --half-life H]   (one {"id", "parent", "recipient", "at", "kind"} a line)

Periods are A:B, B excluded. `update` splits the old rows (seeded) into 80%
rehearsal and 20% validation, writes OUT_DIR only when the update is accepted, and
prints the report; the exit status is 0 when accepted, 3 when refused.
"""

import argparse
import json
import sys
from dataclasses import asdict, replace

import numpy as np

from .config import UpdateConfig
from .data import AccessHistory, TrendFeatures, build_dataset
from .evaluate import evaluate
from .incremental import incremental_update
from .model import TrendModel
from .propagation import propagation_summary
from .serving import predict_indexes
from .synthetic import generate_access_history
from .train import train_model

REFUSED = 3


def _periods(text: str | None):
    if text is None:
        return None
    start, _, end = text.partition(":")
    try:
        return range(int(start), int(end))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a period range A:B") from None


def _print(payload) -> None:
    print(json.dumps(payload, indent=1, ensure_ascii=False, default=float))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.rare_trend")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate")
    generate.add_argument("history")
    generate.add_argument("--cases", type=int, default=2000)
    generate.add_argument("--periods", type=int, default=48)
    generate.add_argument("--drift-at", type=int)
    generate.add_argument("--seed", type=int, default=1)
    train = commands.add_parser("train")
    train.add_argument("history")
    train.add_argument("model")
    train.add_argument("--periods", type=_periods)
    train.add_argument("--seed", type=int, default=1)
    score = commands.add_parser("evaluate")
    score.add_argument("model")
    score.add_argument("history")
    score.add_argument("--periods", type=_periods)
    update = commands.add_parser("update")
    update.add_argument("model")
    update.add_argument("history")
    update.add_argument("out")
    update.add_argument("--new-periods", type=_periods, required=True)
    update.add_argument("--old-periods", type=_periods, required=True)
    update.add_argument("--min-propagation", type=float)
    update.add_argument("--max-degradation", type=float, default=0.02)
    update.add_argument("--anchor", choices=("ewc", "l2", "none"), default=UpdateConfig.anchor)
    update.add_argument("--seed", type=int, default=1)
    predict = commands.add_parser("predict")
    predict.add_argument("model")
    predict.add_argument("cases")
    spread = commands.add_parser("propagation")
    spread.add_argument("events")
    spread.add_argument("--now", type=float)
    spread.add_argument("--half-life", type=float, default=1.0)
    args = parser.parse_args(argv)

    if args.command == "generate":
        history = generate_access_history(args.cases, args.periods, seed=args.seed, drift_at=args.drift_at)
        history.save(args.history)
        _print({"cases": history.n_cases, "periods": history.n_periods, "drift_at": history.drift_at,
                "mean_access": float(history.access.mean())})
    elif args.command == "train":
        X, y = build_dataset(AccessHistory.load(args.history), periods=args.periods)
        model = train_model(X, y, seed=args.seed)
        model.save(args.model)
        _print({"version": model.version, "metrics": model.metrics, "training": model.training})
    elif args.command == "evaluate":
        _print(evaluate(TrendModel.load(args.model), *build_dataset(AccessHistory.load(args.history),
                                                                    periods=args.periods)))
    elif args.command == "update":
        history = AccessHistory.load(args.history)
        model = TrendModel.load(args.model)
        new = build_dataset(history, periods=args.new_periods, min_propagation=args.min_propagation)
        old_X, old_y = build_dataset(history, periods=args.old_periods)
        order = np.random.default_rng(args.seed).permutation(len(old_X))
        held = len(old_X) // 5
        updated, report = incremental_update(
            model, *new, rehearsal=(old_X[order[held:]], old_y[order[held:]]),
            old_val=(old_X[order[:held]], old_y[order[:held]]), max_degradation=args.max_degradation,
            config=replace(UpdateConfig(), anchor=args.anchor), seed=args.seed)
        if report.accepted:
            updated.save(args.out)
        _print(report.to_dict())
        return 0 if report.accepted else REFUSED
    elif args.command == "predict":
        with open(args.cases, encoding="utf-8") as handle:
            cases = json.load(handle)
        features = [TrendFeatures.from_periods(case["periods"], propagation=case.get("propagation", 0.0))
                    for case in cases]
        _print(predict_indexes(TrendModel.load(args.model), features))
    elif args.command == "propagation":
        with open(args.events, encoding="utf-8") as handle:
            events = [json.loads(line) for line in handle if line.strip()]
        _print(asdict(propagation_summary(events, now=args.now, half_life=args.half_life)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
