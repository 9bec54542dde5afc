import json

import numpy as np
import pytest

from ml.imaging.config import DetectorConfig
from ml.imaging.data import synthetic_samples
from ml.imaging.index import EmbeddingIndex
from ml.imaging.serving import DEFAULT_CLASSIFIER, DEFAULT_DETECTOR, classify, detect, load_classifier, load_detector
from ml.imaging.synth import phantom
from ml.imaging.train import limit_threads, train_detector
from ml.imaging.config import TrainConfig

limit_threads()


@pytest.fixture(scope="module")
def detector():
    return load_detector(DEFAULT_DETECTOR)


@pytest.fixture(scope="module")
def classifier():
    return load_classifier(DEFAULT_CLASSIFIER)


def test_the_detector_learns_on_phantoms():
    # Given a few phantoms at 64 px
    config = DetectorConfig(image_size=64)
    samples = synthetic_samples(8, 64, seed=1)
    losses = []
    # When trained for a handful of epochs
    train_detector(samples, config=config, train=TrainConfig(epochs=6, batch_size=8, learning_rate=5e-3),
                   log=lambda line: losses.append(float(line.rsplit(" ", 1)[1])))
    # Then the loss falls
    assert losses[-1] < losses[0] * 0.8


def test_shipped_weights_carry_a_model_card_with_calibrated_thresholds(detector, classifier):
    assert set(detector.thresholds) == {"mass", "nodule"}
    assert all(0 < value < 1 for value in detector.thresholds.values())
    assert 0 < classifier.threshold < 1
    for card in (detector.card, classifier.card):
        assert card["name"] and card["version"] and card["metrics"]
    assert (DEFAULT_DETECTOR / "detector.weights.h5").stat().st_size < 4_000_000


def test_detections_come_back_in_the_original_images_pixels(detector):
    # Given a non-square phantom-like image
    image = np.ascontiguousarray(np.pad(phantom(256, seed=4).image, ((0, 0), (64, 64))))
    found = detect(detector, image, score_threshold=0.01)
    assert found, "at a 0.01 floor the detector proposes something"
    for detection in found:
        x1, y1, x2, y2 = detection.box
        assert 0 <= x1 < x2 <= image.shape[1] and 0 <= y1 < y2 <= image.shape[0]
        assert 0.01 <= detection.score <= 1


def test_classification_gives_a_probability_a_heatmap_and_an_embedding(classifier):
    image = phantom(200, lesions=2, seed=8).image
    result = classify(classifier, image)
    assert 0 <= result.probability <= 1
    assert result.heatmap.shape == image.shape
    assert result.heatmap.min() >= 0 and result.heatmap.max() <= 1
    assert result.embedding.ndim == 1 and np.isfinite(result.embedding).all()


def test_the_index_finds_the_same_study_first_and_can_exclude_it(classifier, tmp_path):
    index = EmbeddingIndex(dimension=classify(classifier, phantom(128, seed=0).image).embedding.shape[0])
    embeddings = {f"s{i}": classify(classifier, phantom(128, seed=i).image).embedding for i in range(4)}
    for key, vector in embeddings.items():
        index.add(key, vector)
    assert index.search(embeddings["s2"], k=1)[0][0] == "s2"
    assert "s2" not in [key for key, _ in index.search(embeddings["s2"], k=3, exclude="s2")]
    index.save(tmp_path / "index.npz")
    assert EmbeddingIndex.load(tmp_path / "index.npz").search(embeddings["s1"], k=1)[0][0] == "s1"


def test_cli_synth_then_predict(tmp_path, capsys):
    from ml.imaging.__main__ import main

    assert main(["synth", "--out", str(tmp_path), "--count", "2", "--size", "128"]) == 0
    truth = json.loads((tmp_path / "0000.json").read_text())
    assert set(truth) == {"boxes", "labels"}
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "0000.png"), str(tmp_path / "0000.json")]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["width"] == 128 and "lesion_probability" in lines[0]
    assert lines[1]["error"] == "not_an_image"


def test_cli_evaluate_reports_map_and_auroc_on_phantoms(capsys):
    from ml.imaging.__main__ import main

    assert main(["evaluate", "--synthetic", "8"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert 0 <= report["synthetic_map50"]["map50"] <= 1
    assert 0 <= report["synthetic_auroc"] <= 1
