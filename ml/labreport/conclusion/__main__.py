"""python -m ml.labreport.conclusion train|evaluate"""

import argparse
import json
import sys
from pathlib import Path

from ml.labreport.conclusion.config import DEFAULT_DIR, ConclusionConfig


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.labreport.conclusion")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train on generated reports, write model.keras and MODEL_CARD.json")
    train.add_argument("--out", type=Path, default=DEFAULT_DIR)
    train.add_argument("--epochs", type=int)
    evaluate = commands.add_parser("evaluate", help="agreement with the rules on held-out generated reports")
    evaluate.add_argument("--model", type=Path, default=DEFAULT_DIR)
    evaluate.add_argument("--cases", type=int, default=ConclusionConfig.test_cases)
    evaluate.add_argument("--seed", type=int, default=ConclusionConfig.test_seed)
    args = parser.parse_args(argv)
    if args.command == "train":
        from ml.labreport.conclusion.train import train as run

        config = ConclusionConfig() if args.epochs is None else ConclusionConfig(epochs=args.epochs)
        card = run(config, args.out)
        print(json.dumps({k: card[k] for k in ("metrics_held_out", "training_seconds", "parameters")}, indent=2))
    else:
        from ml.labreport.conclusion.evaluate import evaluate as run

        print(json.dumps(run(args.model, args.cases, args.seed), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
