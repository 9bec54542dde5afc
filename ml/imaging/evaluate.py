"""Evaluation: mAP@0.5 for the detector, AUROC for the classifier, on exactly the
splits `train` held out (same seed), plus a fresh synthetic set."""

from __future__ import annotations

import numpy as np

from .data import coco_samples, find_nih, lung_halves, split, synthetic_samples
from .metrics import auroc, mean_average_precision
from .serving import LoadedClassifier, LoadedDetector, detect_prepared

SYNTHETIC_TEST_SEED = 9001


def real_splits(data_root, size: int, seed: int):
    """NIH images split 60/20/20 into train, validation (threshold calibration) and test."""
    annotation, image_dir = find_nih(data_root)
    samples = coco_samples(annotation, image_dir, size)
    train, rest = split(samples, 0.4, seed)
    validation, test = split(rest, 0.5, seed + 1)
    return train, validation, test


def detector_map(detector: LoadedDetector, samples, batch: int = 8) -> dict:
    detections = []
    for start in range(0, len(samples), batch):
        chunk = np.stack([s.image for s in samples[start:start + batch]])
        detections += detect_prepared(detector, chunk, score_threshold=0.01)
    truths = [(s.boxes, s.labels) for s in samples]
    result = mean_average_precision(detections, truths, len(detector.config.classes))
    result["per_class"] = {detector.config.classes[k]: v for k, v in result["per_class"].items()}
    result["images"] = len(samples)
    result["boxes"] = int(sum(len(s.boxes) for s in samples))
    return result


def halves_dataset(samples) -> tuple[np.ndarray, np.ndarray]:
    pairs = [pair for sample in samples for pair in lung_halves(sample)]
    return np.stack([image for image, _ in pairs]), np.array([label for _, label in pairs], np.int32)


def synthetic_classification(count: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    samples = synthetic_samples(count, size, seed)
    return np.stack([s.image for s in samples]), np.array([int(len(s.boxes) > 0) for s in samples], np.int32)


def classifier_scores(classifier: LoadedClassifier, images: np.ndarray) -> np.ndarray:
    return np.asarray(classifier.model.predict(images, batch_size=16, verbose=0)).reshape(-1)


def classifier_auroc(classifier: LoadedClassifier, images: np.ndarray, labels: np.ndarray) -> float:
    return auroc(labels, classifier_scores(classifier, images))
