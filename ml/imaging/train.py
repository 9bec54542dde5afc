"""Training: self-supervised backbone pre-training, the detector, the classifier,
and per-class threshold calibration on validation data."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ml.keras_io import limit_threads  # noqa: F401 (the CLI and tests import it from here)

from .config import ClassifierConfig, DetectorConfig, TrainConfig


def _seed(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)


def _mask_patches(images: np.ndarray, rng, patch: int = 16, share: float = 0.4) -> np.ndarray:
    masked = images.copy()
    size = images.shape[1]
    for image in masked:
        for y in range(0, size, patch):
            for x in range(0, size, patch):
                if rng.random() < share:
                    image[y:y + patch, x:x + patch] = 0.5
    return masked


def pretrain_backbone(images: np.ndarray, *, config: DetectorConfig = DetectorConfig(),
                      train: TrainConfig = TrainConfig(), log=print):
    """Masked-autoencoder pre-training on unlabelled X-rays (N, S, S, 1); returns the backbone."""
    import keras

    from .model import build_autoencoder, build_backbone

    _seed(train.seed)
    backbone = build_backbone(config.backbone)
    autoencoder = build_autoencoder(backbone)
    autoencoder.compile(optimizer=keras.optimizers.Adam(train.learning_rate), loss="mae", jit_compile=False)
    rng = np.random.default_rng(train.seed)
    for epoch in range(train.epochs):
        flipped = np.where(rng.random(len(images))[:, None, None, None] < 0.5, images[:, :, ::-1], images)
        history = autoencoder.fit(_mask_patches(flipped, rng), flipped, batch_size=train.batch_size, epochs=1,
                                  verbose=0, shuffle=True)
        log(f"pretrain epoch {epoch + 1}/{train.epochs} reconstruction MAE {history.history['loss'][-1]:.4f}")
    return backbone


def _flip(sample_image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = sample_image.shape[1]
    flipped = boxes.copy()
    flipped[:, [0, 2]] = size - boxes[:, [2, 0]]
    return sample_image[:, ::-1], flipped


def train_detector(samples, *, config: DetectorConfig = DetectorConfig(), train: TrainConfig = TrainConfig(),
                   backbone_weights: str | None = None, log=print):
    import keras

    from .losses import build_targets, detection_loss
    from .model import build_backbone, build_detector

    _seed(train.seed)
    backbone = build_backbone(config.backbone)
    if backbone_weights:
        backbone.load_weights(backbone_weights)
    detector = build_detector(config, backbone)
    detector.compile(optimizer=keras.optimizers.Adam(train.learning_rate, clipnorm=5.0), jit_compile=False,
                     loss=detection_loss(config))
    rng = np.random.default_rng(train.seed)
    size = config.image_size
    for epoch in range(train.epochs):
        images, targets = [], []
        for sample in samples:
            image, boxes = sample.image, sample.boxes
            if rng.random() < 0.5:
                image, boxes = _flip(image, boxes)
            images.append(image)
            targets.append(build_targets(boxes, sample.labels, size, config))
        history = detector.fit(np.stack(images), np.stack(targets), batch_size=train.batch_size, epochs=1,
                               verbose=0, shuffle=True)
        log(f"detector epoch {epoch + 1}/{train.epochs} loss {history.history['loss'][-1]:.4f}")
    return detector


def train_classifier(images: np.ndarray, labels: np.ndarray, *, config: ClassifierConfig = ClassifierConfig(),
                     train: TrainConfig = TrainConfig(), backbone_weights: str | None = None, log=print):
    import keras

    from .model import build_backbone, build_classifier

    _seed(train.seed)
    backbone = build_backbone(config.backbone)
    if backbone_weights:
        backbone.load_weights(backbone_weights)
    classifier = build_classifier(config, backbone)
    classifier.compile(optimizer=keras.optimizers.Adam(train.learning_rate), loss="binary_crossentropy",
                       jit_compile=False)
    rng = np.random.default_rng(train.seed)
    for epoch in range(train.epochs):
        flipped = np.where(rng.random(len(images))[:, None, None, None] < 0.5, images[:, :, ::-1], images)
        history = classifier.fit(flipped, labels.astype(np.float32), batch_size=train.batch_size, epochs=1,
                                 verbose=0, shuffle=True)
        log(f"classifier epoch {epoch + 1}/{train.epochs} loss {history.history['loss'][-1]:.4f}")
    return classifier


def calibrate_detector_thresholds(detections, truths, classes: tuple[str, ...]) -> dict[str, float]:
    """Per class, the score that maximises F1 on validation images (IoU >= 0.5 counts as correct)."""
    from .decode import box_iou
    from .metrics import best_f1_threshold

    thresholds = {}
    for label, name in enumerate(classes):
        scores, correct, total = [], [], 0
        for found, (boxes, labels) in zip(detections, truths):
            candidates = np.asarray(boxes, np.float32).reshape(-1, 4)[labels == label]
            total += len(candidates)
            used = np.zeros(len(candidates), bool)
            for detection in (d for d in found if d.label == label):
                hit = False
                if len(candidates):
                    overlaps = box_iou(np.asarray(detection.box, np.float32), candidates)
                    best = int(np.argmax(overlaps))
                    hit = overlaps[best] >= 0.5 and not used[best]
                    used[best] |= hit
                scores.append(detection.score)
                correct.append(hit)
        thresholds[name] = round(best_f1_threshold(scores, correct, total), 4)
    return thresholds


def calibrate_classifier_threshold(probabilities, labels) -> float:
    """Youden's J on validation data: the probability where sensitivity + specificity peaks."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels).astype(bool)
    best, best_j = 0.5, -1.0
    for candidate in np.unique(probabilities):
        predicted = probabilities >= candidate
        sensitivity = (predicted & labels).sum() / max(labels.sum(), 1)
        specificity = (~predicted & ~labels).sum() / max((~labels).sum(), 1)
        if sensitivity + specificity - 1 > best_j:
            best, best_j = float(candidate), sensitivity + specificity - 1
    return round(best, 4)


def save_artifact(directory: Path, model, weights_name: str, card: dict) -> Path:
    """Weights only (never data) plus MODEL_CARD.json with the config needed to rebuild the model."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    import keras

    # A fresh, uncompiled wrapper over the same layers: the file holds the weights
    # alone, not the optimizer's moment estimates (a third of the size).
    keras.Model(model.inputs, model.outputs, name=model.name).save_weights(directory / weights_name)
    (directory / "MODEL_CARD.json").write_text(json.dumps(card, indent=2, ensure_ascii=False, default=_plain) + "\n",
                                               encoding="utf-8")
    return directory


def _plain(value):
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")
