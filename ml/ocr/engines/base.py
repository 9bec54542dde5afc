"""The interface every OCR engine implements."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ml.ocr.types import Word


class OcrEngine(Protocol):
    """Reads an upright page image.

    `image` is a uint8 array, grayscale (H, W) or BGR (H, W, 3), already rotated
    upright and deskewed by `ml.ocr.preprocess`. `read` returns the words in any
    order; callers rebuild rows and columns from the boxes. Engines load their
    models once (in `__init__` or lazily) so a warm worker reuses them.
    """

    name: str
    version: str

    def read(self, image: np.ndarray) -> list[Word]: ...
