"""Image preparation shared by training and serving: CLAHE and letterbox resizing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def equalize(image: np.ndarray, *, clip_limit: float = 2.0, tiles: int = 8) -> np.ndarray:
    """CLAHE on an 8-bit greyscale image: evens out exposure between machines."""
    import cv2

    return cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles)).apply(image)


@dataclass(frozen=True)
class Letterbox:
    scale: float
    pad_x: int
    pad_y: int
    size: int

    def to_original(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes (x1, y1, x2, y2) in letterboxed pixels back to the original image."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
        boxes[:, [0, 2]] = (boxes[:, [0, 2]] - self.pad_x) / self.scale
        boxes[:, [1, 3]] = (boxes[:, [1, 3]] - self.pad_y) / self.scale
        return boxes

    def to_letterbox(self, boxes: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
        boxes[:, [0, 2]] = boxes[:, [0, 2]] * self.scale + self.pad_x
        boxes[:, [1, 3]] = boxes[:, [1, 3]] * self.scale + self.pad_y
        return boxes


def letterbox(image: np.ndarray, size: int, *, fill: int = 0) -> tuple[np.ndarray, Letterbox]:
    """Resizes keeping the aspect ratio and pads to size x size (centred)."""
    import cv2

    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    out = np.full((size, size), fill, dtype=image.dtype)
    out[pad_y:pad_y + new_h, pad_x:pad_x + new_w] = resized
    return out, Letterbox(scale=scale, pad_x=pad_x, pad_y=pad_y, size=size)


def prepare(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """8-bit display image -> CLAHE -> letterbox -> float32 in [0, 1], shape (size, size, 1)."""
    boxed, geometry = letterbox(equalize(image), size)
    return (boxed.astype(np.float32) / 255.0)[..., None], geometry
