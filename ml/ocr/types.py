"""What every OCR engine returns: words (or short phrases) with their boxes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    """A run of text on one line, with its box in the pixel coordinates of the image
    the engine was given (x0, y0 top-left; x1, y1 bottom-right, exclusive) and the
    engine's confidence in [0, 1]."""

    text: str
    box: tuple[int, int, int, int]
    confidence: float = 1.0

    @property
    def x_center(self) -> float:
        return (self.box[0] + self.box[2]) / 2

    @property
    def y_center(self) -> float:
        return (self.box[1] + self.box[3]) / 2

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]
