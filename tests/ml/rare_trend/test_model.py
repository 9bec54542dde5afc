"""Training on generated dynamics, predicting, saving and loading (real TensorFlow)."""

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from ml.artifacts import artifact_checksum, read_model_card  # noqa: E402
from ml.rare_trend import (FEATURE_NAMES, TrendConfig, TrendFeatures, TrendModel, build_dataset, evaluate,  # noqa: E402
                           generate_access_history, load_trend_model, predict_index, predict_indexes, train_model)


def test_the_model_learns_the_dynamics_well_above_chance(drifted):
    # on validation rows from before the drift
    metrics = evaluate(drifted.model, *drifted.validation)
    majority = max(metrics["positive_rate"], 1 - metrics["positive_rate"])
    assert metrics["auroc"] > 0.68
    assert metrics["accuracy"] > majority + 0.03
    # trained until the validation loss stopped improving
    assert drifted.model.training["converged"]
    assert drifted.model.metrics["validation"]["auroc"] > 0.65


def _case(reach: float) -> TrendFeatures:
    """A case with 5 clicks a period that starts a cascade reaching `reach` people."""
    return TrendFeatures(clicks_mean=5 + 0.3 * reach / 4, downloads_mean=0.6, citations_mean=0.15,
                         forwards_mean=0.6 * reach / 4, shares_mean=0.4 * reach / 4, clicks_last=5 + 0.3 * reach,
                         downloads_last=0.6, citations_last=0.15, forwards_last=0.6 * reach,
                         shares_last=0.4 * reach, propagation=2.0 * reach)


def test_prediction_index_is_a_probability_that_grows_with_a_cascade(drifted):
    indexes = [predict_index(drifted.model, _case(reach)) for reach in (0, 8, 16, 32)]
    assert all(0.0 <= index <= 1.0 for index in indexes)
    assert indexes == sorted(indexes)
    assert indexes[-1] - indexes[0] > 0.3
    # a batch gives the same numbers; extreme and zero inputs stay in [0, 1]
    assert predict_indexes(drifted.model, [_case(r) for r in (0, 8, 16, 32)]) == pytest.approx(indexes, abs=1e-6)
    for vector in (np.zeros(len(FEATURE_NAMES)), np.full(len(FEATURE_NAMES), 1e9)):
        assert 0.0 <= predict_index(drifted.model, vector) <= 1.0


def test_numpy_prediction_matches_the_keras_network(drifted):
    X = drifted.held_out[0][:500]
    keras_output = np.asarray(drifted.model.network(drifted.model.scaler.transform(X), training=False)).reshape(-1)
    np.testing.assert_allclose(drifted.model.predict(X), keras_output, atol=1e-5)


def test_wrong_feature_vectors_are_refused(drifted):
    with pytest.raises(ValueError, match="feature vector"):
        predict_index(drifted.model, [1.0, 2.0])
    with pytest.raises(ValueError, match="non-negative"):
        predict_index(drifted.model, np.full(len(FEATURE_NAMES), -1.0))


def test_save_and_load_give_identical_predictions(drifted, tmp_path):
    X = drifted.held_out[0]
    drifted.model.save(tmp_path / "trend")
    loaded = load_trend_model(str(tmp_path / "trend"))
    np.testing.assert_array_equal(loaded.predict(X), drifted.model.predict(X))
    # the artifact carries its feature spec, scaler and version, and a model card the registry reads
    manifest = json.loads((tmp_path / "trend" / "manifest.json").read_text())
    assert manifest["features"] == list(FEATURE_NAMES)
    assert manifest["version"] == loaded.version == drifted.model.version
    assert len(manifest["scaler"]["mean"]) == len(FEATURE_NAMES)
    assert read_model_card(tmp_path / "trend")["metrics"]["validation"]["auroc"] > 0.65
    assert len(artifact_checksum(tmp_path / "trend")) == 64


def test_loading_refuses_what_is_not_a_trend_artifact(drifted, tmp_path):
    with pytest.raises(FileNotFoundError, match="not a rare-trend artifact"):
        TrendModel.load(tmp_path)
    drifted.model.save(tmp_path / "trend")
    manifest = json.loads((tmp_path / "trend" / "manifest.json").read_text())
    manifest["features"] = manifest["features"][:-1]
    (tmp_path / "trend" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="built for features"):
        TrendModel.load(tmp_path / "trend")


def test_training_is_deterministic_with_the_seed():
    history = generate_access_history(120, 16, seed=4)
    X, y = build_dataset(history)
    config = TrendConfig(max_epochs=4)
    first, second = (train_model(X, y, seed=11, config=config) for _ in range(2))
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    assert not np.array_equal(first.predict(X), train_model(X, y, seed=12, config=config).predict(X))


@pytest.mark.parametrize("y, message", [("same", "all the same"), ("short", "too few")])
def test_training_refuses_data_it_cannot_learn_from(y, message):
    X = np.ones((30, len(FEATURE_NAMES)), dtype="float32")
    labels = np.zeros(30) if y == "same" else np.arange(30) % 2
    rows = X if y == "same" else X[:10]
    with pytest.raises(ValueError, match=message):
        train_model(rows, labels if y == "same" else labels[:10], seed=1)
