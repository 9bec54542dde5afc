"""Detector output -> boxes: per-cell score = sigmoid(objectness) * sigmoid(class),
then class-wise non-maximum suppression (numpy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]   # x1, y1, x2, y2 in pixels
    label: int
    score: float


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(0.0, x)


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[2], others[:, 2])
    y2 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    order = np.argsort(-scores)
    keep = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        if order.size == 1:
            break
        rest = order[1:]
        order = rest[box_iou(boxes[best], boxes[rest]) <= iou_threshold]
    return keep


def decode(output: np.ndarray, stride: int, *, score_threshold: float = 0.05, iou_threshold: float = 0.5,
           max_detections: int = 50) -> list[Detection]:
    """One image's raw output (H, W, 5 + C) -> detections, best first."""
    height, width = output.shape[:2]
    xs = (np.arange(width, dtype=np.float32) + 0.5) * stride
    ys = (np.arange(height, dtype=np.float32) + 0.5) * stride
    cx, cy = np.meshgrid(xs, ys)
    distances = _softplus(output[..., :4]) * stride
    boxes = np.stack([cx - distances[..., 0], cy - distances[..., 1], cx + distances[..., 2],
                      cy + distances[..., 3]], axis=-1).reshape(-1, 4)
    scores = (_sigmoid(output[..., 4:5]) * _sigmoid(output[..., 5:])).reshape(-1, output.shape[-1] - 5)
    detections = []
    for label in range(scores.shape[1]):
        candidates = np.flatnonzero(scores[:, label] >= score_threshold)
        if candidates.size == 0:
            continue
        kept = nms(boxes[candidates], scores[candidates, label], iou_threshold)
        detections += [Detection(tuple(float(v) for v in boxes[candidates[i]]), label,
                                 float(scores[candidates[i], label])) for i in kept]
    detections.sort(key=lambda d: -d.score)
    return detections[:max_detections]
