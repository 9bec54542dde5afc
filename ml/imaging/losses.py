"""Detector targets and loss. Targets are built in numpy per image; the loss is the
YOLOv8 family's sum of a box term (GIoU on positive cells), an objectness term (BCE
on every cell) and a class term (BCE on positive cells).

Target tensor per cell: [positive, one-hot class (C), gt box x1 y1 x2 y2 in pixels].
A cell is positive for a box when its centre lies inside the box and within
`center_radius` strides of the box centre (FCOS-style centre sampling); when two
boxes claim a cell, the smaller one wins.
"""

from __future__ import annotations

import numpy as np

from .config import DetectorConfig


def grid_centres(height: int, width: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[:height, :width].astype(np.float32)
    return (xs + 0.5) * stride, (ys + 0.5) * stride


def build_targets(boxes: np.ndarray, labels: np.ndarray, image_size: int, config: DetectorConfig) -> np.ndarray:
    cells = image_size // config.stride
    classes = len(config.classes)
    target = np.zeros((cells, cells, 1 + classes + 4), np.float32)
    cx, cy = grid_centres(cells, cells, config.stride)
    area_claimed = np.full((cells, cells), np.inf, np.float32)
    for box, label in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(labels).reshape(-1)):
        x1, y1, x2, y2 = box
        bx, by = (x1 + x2) / 2, (y1 + y2) / 2
        radius = config.center_radius * config.stride
        inside = (cx > x1) & (cx < x2) & (cy > y1) & (cy < y2)
        near = (np.abs(cx - bx) < radius) & (np.abs(cy - by) < radius)
        mask = inside & near
        if not mask.any():  # a box smaller than a cell still gets the cell holding its centre
            mask = np.zeros_like(mask)
            mask[min(int(by // config.stride), cells - 1), min(int(bx // config.stride), cells - 1)] = True
        area = (x2 - x1) * (y2 - y1)
        mask &= area < area_claimed
        area_claimed[mask] = area
        target[mask] = 0
        target[mask, 0] = 1
        target[mask, 1 + int(label)] = 1
        target[mask, 1 + classes:] = box
    return target


def decode_boxes(raw, stride: int):
    """Raw distances -> x1 y1 x2 y2 in pixels (backend ops, works on tensors)."""
    from keras import ops

    shape = ops.shape(raw)
    height, width = shape[1], shape[2]
    xs = (ops.cast(ops.arange(width), "float32") + 0.5) * stride
    ys = (ops.cast(ops.arange(height), "float32") + 0.5) * stride
    cx = ops.reshape(xs, (1, 1, -1))
    cy = ops.reshape(ys, (1, -1, 1))
    distances = ops.softplus(raw) * stride
    return ops.stack([cx - distances[..., 0], cy - distances[..., 1],
                      cx + distances[..., 2], cy + distances[..., 3]], axis=-1)


def _giou(a, b):
    from keras import ops

    inter_w = ops.maximum(ops.minimum(a[..., 2], b[..., 2]) - ops.maximum(a[..., 0], b[..., 0]), 0.0)
    inter_h = ops.maximum(ops.minimum(a[..., 3], b[..., 3]) - ops.maximum(a[..., 1], b[..., 1]), 0.0)
    inter = inter_w * inter_h
    area_a = ops.maximum(a[..., 2] - a[..., 0], 0.0) * ops.maximum(a[..., 3] - a[..., 1], 0.0)
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter + 1e-6
    hull = ((ops.maximum(a[..., 2], b[..., 2]) - ops.minimum(a[..., 0], b[..., 0]))
            * (ops.maximum(a[..., 3], b[..., 3]) - ops.minimum(a[..., 1], b[..., 1])) + 1e-6)
    return inter / union - (hull - union) / hull


def detection_loss(config: DetectorConfig):
    from keras import ops

    classes = len(config.classes)

    def loss(y_true, y_pred):
        positive = y_true[..., 0]
        count = ops.maximum(ops.sum(positive), 1.0)
        predicted = decode_boxes(y_pred[..., :4], config.stride)
        box_term = ops.sum((1.0 - _giou(predicted, y_true[..., 1 + classes:])) * positive) / count
        objectness_term = ops.sum(_bce(positive, y_pred[..., 4])) / count
        class_bce = ops.sum(_bce(y_true[..., 1:1 + classes], y_pred[..., 5:5 + classes]), axis=-1)
        class_term = ops.sum(class_bce * positive) / count
        return (config.box_weight * box_term + config.objectness_weight * objectness_term
                + config.class_weight * class_term)

    return loss


def _bce(target, logits):
    from keras import ops

    # numerically stable BCE with logits
    return ops.maximum(logits, 0.0) - logits * target + ops.log1p(ops.exp(-ops.abs(logits)))
