"""The metrics papers report: mAP@0.5 (PASCAL VOC all-point interpolation, mean over
classes that have ground truth) and AUROC (Mann-Whitney, ties counted half)."""

from __future__ import annotations

import numpy as np

from .decode import Detection, box_iou


def average_precision(detections: list[list[Detection]], truths: list[tuple[np.ndarray, np.ndarray]],
                      label: int, iou_threshold: float = 0.5) -> float | None:
    """AP for one class over a set of images; None when the class has no ground truth."""
    total = sum(int((labels == label).sum()) for _, labels in truths)
    if total == 0:
        return None
    scored = []
    for image, found in enumerate(detections):
        scored += [(d.score, image, d.box) for d in found if d.label == label]
    scored.sort(key=lambda item: -item[0])
    matched = [np.zeros(int((labels == label).sum()), bool) for _, labels in truths]
    hits = np.zeros(len(scored))
    for rank, (_score, image, box) in enumerate(scored):
        boxes, labels = truths[image]
        candidates = np.asarray(boxes, np.float32).reshape(-1, 4)[labels == label]
        if len(candidates) == 0:
            continue
        overlaps = box_iou(np.asarray(box, np.float32), candidates)
        best = int(np.argmax(overlaps))
        if overlaps[best] >= iou_threshold and not matched[image][best]:
            matched[image][best] = True
            hits[rank] = 1
    if not scored:
        return 0.0
    true_positives = np.cumsum(hits)
    recall = true_positives / total
    precision = true_positives / np.arange(1, len(scored) + 1)
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.concatenate([[0.0], precision, [0.0]])
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    steps = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))


def mean_average_precision(detections, truths, classes: int, iou_threshold: float = 0.5) -> dict:
    per_class = {label: average_precision(detections, truths, label, iou_threshold) for label in range(classes)}
    present = [value for value in per_class.values() if value is not None]
    return {"map50": float(np.mean(present)) if present else 0.0, "per_class": per_class}


def auroc(labels, scores) -> float:
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, np.float64)
    positives, negatives = scores[labels], scores[~labels]
    if len(positives) == 0 or len(negatives) == 0:
        raise ValueError("AUROC needs both positive and negative examples")
    greater = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(positives) * len(negatives)))


def best_f1_threshold(scores, correct, total_positives: int, floor: float = 0.05) -> float:
    """The score threshold that maximises F1 on validation data (used per class, so each
    class gets its own operating point instead of a flat 0.5)."""
    order = np.argsort(-np.asarray(scores))
    scores = np.asarray(scores)[order]
    correct = np.asarray(correct, bool)[order]
    if total_positives == 0 or len(scores) == 0:
        return 0.5
    tp = np.cumsum(correct)
    precision = tp / np.arange(1, len(scores) + 1)
    recall = tp / total_positives
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-9)
    return float(max(scores[int(np.argmax(f1))], floor))
