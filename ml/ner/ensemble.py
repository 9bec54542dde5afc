"""Ensembles of trained CRF taggers that share one featurizer.

Members are ordinary artifacts from `python -m ml.ner train` (typically the same
recipe with different `--seed`s). `combine` checks that they read text the same
way (byte-identical vocab.json, lexicon included, and the same feature switches
and tags), then writes ONE artifact: the shared config/vocab, each member's
weights as `member-<i>.weights.h5`, and a model card with the ensemble's dev
scores beside each member's.

At inference the members' emission scores and CRF parameters are averaged and
decoded by one Viterbi pass. Since each member's log-partition is constant for a
given text, the best path under the averaged potentials is the path with the
highest mean log-probability over the members (a product of experts), so the
ensemble is one CRF, not a vote. Features are computed once for all members;
only the convolution stacks run N times.
"""

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from ml.artifacts import CARD_NAME, read_model_card

from .config import ModelConfig, TrainConfig, from_dict
from .data import load_ccks, split_train_dev
from .evaluate import strict_scores
from .knowledge import LICENSE_NAME
from .labels import CCKS_CODES, CCKS_NAMES

# the parts of a member's config that decide its inputs and outputs: they must agree
SHARED_FIELDS = ("scheme", "use_bigram", "use_seg", "lexicon", "context", "context_dim", "context_layers", "tags")


class IncompatibleMembers(ValueError):
    pass


def member_weight_name(index: int) -> str:
    return f"member-{index + 1}.weights.h5"


def _read_config(path: Path) -> dict:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{path}: not a NER artifact (no config.json)")
    saved = json.loads(config_file.read_text(encoding="utf-8"))
    if saved.get("members"):
        raise IncompatibleMembers(f"{path} is itself an ensemble; combine its members instead")
    return saved


def check_members(paths: list[Path]) -> list[dict]:
    """The members' saved configs, or IncompatibleMembers saying what differs."""
    if len(paths) < 2:
        raise IncompatibleMembers("an ensemble needs at least two members")
    configs = [_read_config(p) for p in paths]
    first = configs[0]["model"]
    if not first["name"].endswith("_crf") or "gcn" in first["name"]:
        raise IncompatibleMembers(f"members must be CNN/BiLSTM CRF taggers without graph inputs, not {first['name']}")
    vocab = (paths[0] / "vocab.json").read_bytes()
    for path, saved in zip(paths[1:], configs[1:]):
        model = saved["model"]
        for name in SHARED_FIELDS:
            # a field saved before it existed has its default value
            mine, theirs = (config.get(name, getattr(ModelConfig, name, None)) for config in (model, first))
            if mine != theirs:
                raise IncompatibleMembers(f"{path}: {name} is {mine!r}, the first member's is {theirs!r}")
        if "gcn" in model["name"] or not model["name"].endswith("_crf"):
            raise IncompatibleMembers(f"{path}: {model['name']} cannot be a member")
        if (path / "vocab.json").read_bytes() != vocab:
            raise IncompatibleMembers(f"{path}: its vocab.json differs from the first member's (train members on the same data and lexicon)")
    return configs


def dev_records(data: str, train_config: TrainConfig):
    records = load_ccks(data)
    if train_config.limit_records:
        records = records[: train_config.limit_records]
    return split_train_dev(records, dev_fraction=train_config.dev_fraction, seed=train_config.split_seed)[1]


def combine(members: list[str], out: str, *, data: str, command: str = "", estimate_from: str = "") -> dict:
    """Write the ensemble artifact to `out` and score it on the members' dev split.

    `estimate_from`: for members trained on every record (nothing left to score),
    the artifact of the same recipe trained on the 70/30 split; its dev scores are
    recorded in this card as the recipe's estimate, with where they come from."""
    from .serving import load_tagger

    paths = [Path(m) for m in members]
    configs = check_members(paths)
    estimate = _recipe_estimate(estimate_from)  # refused before anything is written
    out_path = Path(out)
    if out_path.resolve() in {p.resolve() for p in paths}:
        raise IncompatibleMembers("--out must not be one of the members")
    out_path.mkdir(parents=True, exist_ok=True)
    for stale in out_path.glob("*.weights.h5"):
        stale.unlink()
    entries = []
    for index, (path, saved) in enumerate(zip(paths, configs)):
        shutil.copyfile(path / "model.weights.h5", out_path / member_weight_name(index))
        entries.append({"weights": member_weight_name(index), "model": saved["model"], "train": saved.get("train", {})})
    shutil.copyfile(paths[0] / "vocab.json", out_path / "vocab.json")
    if (paths[0] / LICENSE_NAME).is_file():
        shutil.copyfile(paths[0] / LICENSE_NAME, out_path / LICENSE_NAME)
    config = {"model": configs[0]["model"], "train": configs[0].get("train", {}), "members": entries}
    (out_path / "config.json").write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")

    train_config = from_dict(TrainConfig, configs[0].get("train", {}))
    dev = dev_records(data, train_config)
    scores = None  # members trained on every record (--dev-fraction 0) leave nothing to score
    if dev:
        tagger = load_tagger(out_path, batch_size=64)
        scores = strict_scores([r.spans for r in dev], tagger.predict([r.text for r in dev]), list(CCKS_CODES.values()))
    member_cards = [read_model_card(p) for p in paths]
    card = {
        "family": "ml.ner",
        "model": f"ensemble of {len(paths)} x {configs[0]['model']['name']}",
        "version": f"ensemble{len(paths)}-{configs[0]['model']['name']}-{datetime.now(timezone.utc):%Y%m%d%H%M}",
        "task": "Chinese clinical named-entity recognition, CCKS 2019 types",
        "labels": [CCKS_NAMES[c] for c in CCKS_CODES.values()],
        "data": {**member_cards[0].get("data", {}),
                 "note": "weights of each member, one shared vocabulary and lexicon; no records"},
        "metrics": {"dev_strict": scores} if scores else member_cards[0].get("metrics", {"dev_strict": None}),
        "members": [
            {"weights": entry["weights"], "seed": entry["train"].get("seed"),
             "dev_f1": ((c.get("metrics", {}).get("dev_strict") or {}).get("micro") or {}).get("f1"),
             "training_minutes": c.get("training_minutes"), "command": c.get("command")}
            for entry, c in zip(entries, member_cards)
        ],
        "training_minutes": round(sum(c.get("training_minutes") or 0 for c in member_cards), 2),
        **estimate,
        "command": command,
        "intended_use": member_cards[0].get("intended_use", ""),
        "limits": member_cards[0].get("limits", ""),
    }
    (out_path / CARD_NAME).write_text(json.dumps(card, ensure_ascii=False, indent=1), encoding="utf-8")
    return card


def _recipe_estimate(path: str) -> dict:
    if not path:
        return {}
    card = read_model_card(path)
    scores = (card.get("metrics") or {}).get("dev_strict")
    if not scores:
        raise IncompatibleMembers(f"{path}: no dev scores to take the recipe's estimate from")
    return {"recipe_estimate": {"dev_strict": scores, "from": card.get("model"), "version": card.get("version"),
                                "command": card.get("command"),
                                "note": "the same recipe trained on the 70/30 split and scored on its 300 dev records"}}


def member_configs(saved: dict) -> list[tuple[ModelConfig, str]]:
    """(config, weights file) for each model of an artifact: its members, or itself."""
    if saved.get("members"):
        return [(from_dict(ModelConfig, m["model"]), m["weights"]) for m in saved["members"]]
    return [(from_dict(ModelConfig, saved["model"]), "model.weights.h5")]

