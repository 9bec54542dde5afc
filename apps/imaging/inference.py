"""The adapter between the platform and ml.imaging: which model serves a hospital and
what it says about one image. Models load once per worker process.

A hospital's active detector/classifier is its `imaging.detector` / `imaging.classifier`
deployment in the model registry (apps.configuration); a hospital with none uses the
weights shipped in ml/imaging/weights, labelled with their model card's name and version.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from apps.configuration.selectors import setting_value
from apps.configuration.serving import NoActiveModelError, model_pool

from .declared_settings import CLASSIFIER_TASK, CLASSIFIER_THRESHOLD_KEY, DETECTOR_TASK, DETECTOR_THRESHOLD_KEYS


def _load_detector(path):
    from ml.imaging.serving import load_detector

    return load_detector(path)


def _load_classifier(path):
    from ml.imaging.serving import load_classifier

    return load_classifier(path)


model_pool.register_loader(DETECTOR_TASK, _load_detector)
model_pool.register_loader(CLASSIFIER_TASK, _load_classifier)

_defaults: dict[str, object] = {}
_defaults_lock = threading.Lock()


@dataclass(frozen=True)
class FoundLesion:
    label: str
    box: tuple[float, float, float, float]
    confidence: float


@dataclass(frozen=True)
class Analysis:
    findings: list[FoundLesion]
    detector_name: str
    detector_version: str
    lesion_probability: float
    lesion_threshold: float
    classifier_label: str
    heatmap: np.ndarray
    embedding: list[float]


def _default(task: str):
    from ml.imaging.serving import DEFAULT_CLASSIFIER, DEFAULT_DETECTOR

    with _defaults_lock:
        if task not in _defaults:
            _defaults[task] = (_load_detector(DEFAULT_DETECTOR) if task == DETECTOR_TASK
                               else _load_classifier(DEFAULT_CLASSIFIER))
        return _defaults[task]


def _run(task: str, image8: np.ndarray, predict):
    """(output, model name, version): the hospital's deployment, else the shipped default."""
    try:
        result = model_pool.run(task, image8, predict=predict, compare=lambda a, b: 0.0)
        return result.output, result.model.name, result.model.version
    except NoActiveModelError:
        loaded = _default(task)
        return predict(loaded, image8), loaded.card["name"], loaded.card["version"]


def _threshold(configured: float, calibrated: float) -> float:
    return configured if configured > 0 else calibrated


def analyse(image8: np.ndarray) -> Analysis:
    """Detector and classifier on one 8-bit image (call inside the hospital's tenant context)."""
    from ml.imaging.serving import classify, detect

    def predict_boxes(loaded, image):
        classes = loaded.config.classes
        return [(classes[d.label], d.box, d.score, loaded.thresholds.get(classes[d.label], 0.5))
                for d in detect(loaded, image)]

    def predict_class(loaded, image):
        result = classify(loaded, image)
        return result, loaded.threshold

    raw, detector_name, detector_version = _run(DETECTOR_TASK, image8, predict_boxes)
    findings = []
    for label, box, score, calibrated in raw:
        configured = float(setting_value(DETECTOR_THRESHOLD_KEYS[label])) if label in DETECTOR_THRESHOLD_KEYS else 0.0
        if score >= _threshold(configured, calibrated):
            findings.append(FoundLesion(label=label, box=box, confidence=score))
    (classification, calibrated), classifier_name, classifier_version = _run(CLASSIFIER_TASK, image8, predict_class)
    return Analysis(findings=findings, detector_name=detector_name, detector_version=detector_version,
                    lesion_probability=classification.probability,
                    lesion_threshold=_threshold(float(setting_value(CLASSIFIER_THRESHOLD_KEY)), calibrated),
                    classifier_label=f"{classifier_name}:{classifier_version}", heatmap=classification.heatmap,
                    embedding=[round(float(v), 6) for v in classification.embedding])
