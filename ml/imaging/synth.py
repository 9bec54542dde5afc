"""Synthetic phantom chest radiographs with inserted lesions at known positions.

A phantom is a soft body outline, two dark lung fields, a bright spine and
mediastinum, rib arcs and film noise. Lesions are bright discs with a soft rim,
placed inside a lung field: "nodule" (small) or "mass" (larger). A lesion is drawn
only inside its disc, so its box (x1, y1, x2, y2) = centre -/+ radius is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import CLASS_NAMES

NODULE_RADIUS = (0.015, 0.03)   # fraction of the image side
MASS_RADIUS = (0.04, 0.07)


@dataclass
class Phantom:
    image: np.ndarray          # uint8, H x W
    boxes: np.ndarray          # float32 (n, 4) x1, y1, x2, y2 in pixels
    labels: np.ndarray         # int32 (n,) index into CLASS_NAMES

    @property
    def abnormal(self) -> bool:
        return len(self.boxes) > 0


def _ellipse(shape, cx, cy, rx, ry):
    y, x = np.ogrid[:shape[0], :shape[1]]
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2


def _lung_fields(size: int, rng) -> list[tuple[float, float, float, float]]:
    fields = []
    for side in (-1, 1):
        cx = size * (0.5 + side * rng.uniform(0.17, 0.21))
        fields.append((cx, size * rng.uniform(0.45, 0.5), size * rng.uniform(0.13, 0.16), size * rng.uniform(0.26, 0.3)))
    return fields


def phantom(size: int = 256, *, lesions: int | None = None, seed: int | None = None, rng=None) -> Phantom:
    """One phantom. `lesions=None` draws 0-3 lesions (none in about a third of images)."""
    rng = rng or np.random.default_rng(seed)
    img = np.zeros((size, size), np.float32)
    body = _ellipse(img.shape, size * 0.5, size * 0.55, size * rng.uniform(0.42, 0.47), size * 0.55)
    img += np.where(body < 1, 0.55, 0.05)
    fields = _lung_fields(size, rng)
    lung_mask = np.zeros_like(img, bool)
    for cx, cy, rx, ry in fields:
        inside = _ellipse(img.shape, cx, cy, rx, ry)
        lung_mask |= inside < 0.85
        img -= 0.35 * np.clip(1.2 - inside, 0, 1)
    y, x = np.mgrid[:size, :size].astype(np.float32)
    for rib in range(rng.integers(6, 9)):                       # rib arcs over the lungs
        level = size * (0.22 + 0.075 * rib)
        curve = level + size * 0.06 * np.cos((x - size / 2) / size * np.pi * 1.6)
        img += 0.12 * np.exp(-((y - curve) / (size * 0.012)) ** 2) * (body < 1)
    img += 0.35 * np.exp(-((x - size / 2) / (size * 0.04)) ** 2)            # spine
    img += 0.3 * np.clip(1.2 - _ellipse(img.shape, size * 0.54, size * 0.68, size * 0.13, size * 0.12), 0, 1)  # heart
    count = int(rng.choice([0, 1, 1, 2, 3])) if lesions is None else lesions
    boxes, labels = [], []
    for _ in range(count):
        label = int(rng.integers(0, len(CLASS_NAMES)))
        low, high = MASS_RADIUS if CLASS_NAMES[label] == "mass" else NODULE_RADIUS
        radius = max(2.0, size * rng.uniform(low, high))
        for _attempt in range(30):
            cx, cy, rx, ry = fields[int(rng.integers(0, 2))]
            px, py = cx + rng.uniform(-0.6, 0.6) * rx, cy + rng.uniform(-0.6, 0.6) * ry
            box = (px - radius, py - radius, px + radius, py + radius)
            if all(_iou(box, other) == 0 for other in boxes):
                break
        disc = np.sqrt((x - px) ** 2 + (y - py) ** 2) / radius
        img += rng.uniform(0.25, 0.4) * np.where(disc <= 1, 1 - disc ** 4, 0)   # zero outside the disc
        boxes.append(box)
        labels.append(label)
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)
    img = np.clip(img * rng.uniform(0.85, 1.1) + rng.uniform(-0.05, 0.05), 0, 1)
    return Phantom(image=(img * 255).astype(np.uint8), boxes=np.array(boxes, np.float32).reshape(-1, 4),
                   labels=np.array(labels, np.int32))


def _iou(a, b) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def phantom_set(count: int, *, size: int = 256, seed: int = 0) -> list[Phantom]:
    rng = np.random.default_rng(seed)
    return [phantom(size, rng=rng) for _ in range(count)]
