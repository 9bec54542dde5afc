"""Training tiny models on hand-written records, then predicting and evaluating
through the CLI: every model variant builds, trains, exports and reloads."""

import io
import json
import sys

import pytest

pytest.importorskip("tensorflow")

from ml.ner.__main__ import main  # noqa: E402
from ml.ner.config import ModelConfig, TrainConfig  # noqa: E402
from ml.ner.serving import MAX_TEXT, TextTooLong, load_tagger  # noqa: E402
from ml.ner.train import set_threads, train  # noqa: E402

from .fixtures import CCKS_TEXTS, write_ccks_dir, write_cmeee_dir  # noqa: E402

from tests.support.tiny_ner import TINY  # noqa: E402


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ner-data")
    return write_ccks_dir(root / "ccks", repeat=5), write_cmeee_dir(root / "cmeee")


@pytest.fixture(scope="module")
def memorised(data_dirs, tmp_path_factory):
    """A CNN-CRF with every lever (bigrams, jieba words, lexicon, CMeEE
    pre-training) trained until it knows the fixture by heart."""
    set_threads()
    ccks, cmeee = data_dirs
    out = tmp_path_factory.mktemp("model")
    card = train(str(ccks), str(out), ModelConfig(name="cnn_crf", lexicon="ccks+cmeee", **TINY),
                 TrainConfig(max_epochs=15, patience=15, learning_rate=0.02, batch_size=4, lexicon_folds=2,
                             train_window=40, predict_window=40, cmeee=str(cmeee), pretrain_epochs=1, dev_fraction=0.3))
    return out, card


def test_training_exports_weights_vocab_and_a_model_card(memorised):
    out, card = memorised
    # then the artifact is small, holds no records, and its card carries metrics and a checksum
    assert {p.name for p in out.iterdir()} == {"model.weights.h5", "vocab.json", "config.json", "MODEL_CARD.json"}
    assert sum(p.stat().st_size for p in out.iterdir()) < 2_000_000
    assert card["metrics"]["dev_strict"]["micro"]["f1"] > 0.8
    assert [h["stage"] for h in card["history"]][0] == "cmeee"
    assert len(card["checksum"]["weights_and_vocab_sha256"]) == 64
    vocab = (out / "vocab.json").read_text(encoding="utf-8")
    assert CCKS_TEXTS[0][0] not in vocab


def test_offsets_map_back_through_windows(memorised):
    # given a known sentence placed after filler that pushes it into a later window
    tagger = load_tagger(memorised[0])
    sentence = CCKS_TEXTS[1][0]
    text = "无。" * 30 + sentence
    # when tagged
    spans = tagger.predict([text])[0]
    # then the entities are found at their offsets in the whole text
    assert {"腹部CT", "肝转移瘤"} <= {text[s.start : s.end] for s in spans}
    assert all(s.start >= 60 for s in spans)


@pytest.mark.parametrize("text", ["", "5", "癌", "   ", "The patient is fine.", "\x00\x01\x7f胃癌\u200b\ufeff\r\n", "🙂" * 50,
                                  "患者" * 10_000])
def test_odd_input_gives_valid_offsets(memorised, text):
    tagger = load_tagger(memorised[0])
    for span in tagger.predict([text])[0]:
        assert 0 <= span.start < span.end <= len(text)


def test_text_over_the_limit_is_refused(memorised):
    tagger = load_tagger(memorised[0])
    with pytest.raises(TextTooLong):
        tagger.predict(["a" * (MAX_TEXT + 1)])


@pytest.mark.parametrize("name", ["cnn", "bilstm_crf", "bilstm_att_crf", "bilstm_gcn_crf"])
def test_cli_trains_predicts_and_evaluates_each_model(data_dirs, tmp_path, name, capsys, monkeypatch):
    ccks, _cmeee = data_dirs
    out = tmp_path / name
    # when trained for one epoch from the command line
    flags = ["--hidden", "16", "--char-dim", "16", "--max-epochs", "1", "--lexicon", "ccks", "--lexicon-folds", "2",
             "--train-window", "40"]
    assert main(["train", "--data", str(ccks), "--model", name, "--out", str(out), *flags]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.0 <= summary["dev_f1"] <= 1.0
    # and used to predict CCKS-format lines (one of them broken)
    lines = [json.dumps({"originalText": t}, ensure_ascii=False) for t, _ in CCKS_TEXTS] + ["{broken"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines)))
    assert main(["predict", "--model", str(out)]) == 2  # the broken line is reported, the rest tagged
    captured = capsys.readouterr()
    assert "line 7" in captured.err
    predicted = [json.loads(line) for line in captured.out.splitlines()]
    assert [p["originalText"] for p in predicted] == [t for t, _ in CCKS_TEXTS]
    for item in predicted:
        for entity in item["entities"]:
            assert 0 <= entity["start_pos"] < entity["end_pos"] <= len(item["originalText"])
    # then evaluate prints a row per type
    pred_file = tmp_path / "pred.jsonl"
    pred_file.write_text(captured.out, encoding="utf-8")
    gold_file = tmp_path / "gold.jsonl"
    gold_file.write_text("\n".join((ccks / "subtask1_training_part1.txt").read_text(encoding="utf-8-sig").splitlines()[:6]),
                         encoding="utf-8")
    assert main(["evaluate", "--gold", str(gold_file), "--pred", str(pred_file)]) == 0
    table = capsys.readouterr().out
    assert all(name in table for name in ("疾病和诊断", "实验室检验", "micro", "macro"))


def test_cli_refuses_a_missing_model_dir(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"originalText": "胃癌"}'))
    assert main(["predict", "--model", str(tmp_path / "nothing")]) == 2
    assert "not a NER artifact" in capsys.readouterr().err
