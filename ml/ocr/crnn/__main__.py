"""python -m ml.ocr.crnn train --out DIR [--steps N] [--seed S] [--minutes M] [--init DIR] [--lr R]
python -m ml.ocr.crnn evaluate --model DIR [--lines N]"""

from __future__ import annotations

import argparse
import json

from ml.ocr.crnn.config import WEIGHTS_DIR, TrainConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.ocr.crnn")
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train", help="train on synthetic lines and score on held-out ones")
    train_parser.add_argument("--out", required=True)
    train_parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    train_parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    train_parser.add_argument("--minutes", type=float, default=TrainConfig.max_seconds / 60)
    train_parser.add_argument("--init", default=None, help="start from this model directory's weights")
    train_parser.add_argument("--lr", type=float, default=TrainConfig.learning_rate)
    evaluate_parser = commands.add_parser("evaluate", help="score a trained model on held-out synthetic lines")
    evaluate_parser.add_argument("--model", default=str(WEIGHTS_DIR))
    evaluate_parser.add_argument("--lines", type=int, default=TrainConfig.eval_lines)
    args = parser.parse_args(argv)

    from ml.ocr.crnn import train

    if args.command == "train":
        config = TrainConfig(steps=args.steps, seed=args.seed, max_seconds=args.minutes * 60, learning_rate=args.lr)
        metrics = train.train(args.out, config, command=train.main_command(), init=args.init)
    else:
        metrics = train.evaluate_dir(args.model, count=args.lines)
    print(json.dumps(metrics, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
