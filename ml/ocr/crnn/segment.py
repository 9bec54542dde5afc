"""Find text chunks on an upright page with OpenCV: lines, and inside each line the runs
of text separated by wide gaps (table columns).

1. Binarise (adaptive threshold, so shading and uneven light do not matter) and remove
   table rules (long thin horizontal/vertical runs found by morphological opening).
2. Estimate the text height from the connected components.
3. Dilate horizontally by about half a character: glyphs and single spaces merge, column
   gaps do not. Each component of the dilated mask is a chunk; a chunk taller than a
   line is split at the empty rows of its horizontal projection profile.
4. Group chunks into lines by vertical overlap; a line's band (the height of its tall
   glyphs) becomes every chunk's vertical extent, so a "-" or "0.5" is cropped like the
   Chinese names beside it, as in training.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VERTICAL = 0.2  # share of the band height added above and below a chunk crop
PAD_HORIZONTAL = 0.2
GAP_FACTOR = 0.8  # horizontal dilation, in text heights: smaller gaps join a chunk


@dataclass(frozen=True)
class Chunk:
    box: tuple[int, int, int, int]  # ink box: x0, y0, x1, y1 (exclusive)
    crop_box: tuple[int, int, int, int]  # what the recogniser sees (band height, padded)
    line: int


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image


def binarise(gray: np.ndarray) -> np.ndarray:
    """Ink 255 on 0."""
    values = np.unique(gray[:: max(1, gray.shape[0] // 200), :: max(1, gray.shape[1] // 200)])
    if len(values) <= 2:  # already binarised upstream
        return np.where(gray < 128, 255, 0).astype(np.uint8)
    block = max(15, (min(gray.shape) // 30) | 1)
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15)


def remove_rules(binary: np.ndarray) -> np.ndarray:
    height, width = binary.shape
    horizontal = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(40, width // 12), 1)))
    vertical = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(40, height // 12))))
    rules = cv2.dilate(cv2.bitwise_or(horizontal, vertical), np.ones((3, 3), np.uint8))
    return cv2.bitwise_and(binary, cv2.bitwise_not(rules))


def text_height(binary: np.ndarray) -> float:
    _count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(binary, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = (heights >= 6) & (heights <= binary.shape[0] / 8) & (areas >= 12)
    if not keep.any():
        return 0.0
    # Upper quartile: many components are parts of characters (radicals, dots).
    return float(np.percentile(heights[keep], 75))


def _split_rows(ink: np.ndarray, x0: int, y0: int, expected: float) -> list[tuple[int, int, int, int]]:
    """Boxes of the row bands in a component taller than one line."""
    rows = ink.any(axis=1)
    boxes = []
    start = None
    for y, filled in enumerate(list(rows) + [False]):
        if filled and start is None:
            start = y
        elif not filled and start is not None:
            band = ink[start:y]
            columns = np.flatnonzero(band.any(axis=0))
            boxes.append((x0 + int(columns[0]), y0 + start, x0 + int(columns[-1]) + 1, y0 + y))
            start = None
    return boxes


def find_chunks(image: np.ndarray) -> list[Chunk]:
    gray = to_gray(image)
    binary = remove_rules(binarise(gray))
    height_estimate = text_height(binary)
    if height_estimate <= 0:
        return []
    # Specks of noise would otherwise bridge gaps or become chunks.
    binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) if height_estimate > 16 else binary
    gap = max(3, int(round(GAP_FACTOR * height_estimate)))
    joined = cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_RECT, (gap, max(1, int(0.25 * height_estimate)))))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)

    boxes: list[tuple[int, int, int, int]] = []
    for index in range(1, count):
        x, y, w, h = stats[index, :4]
        ink = binary[y : y + h, x : x + w] & (labels[y : y + h, x : x + w] == index).astype(np.uint8) * 255
        if cv2.countNonZero(ink) < max(4, 0.02 * height_estimate**2):
            continue
        ys, xs = np.nonzero(ink)
        box = (x + int(xs.min()), y + int(ys.min()), x + int(xs.max()) + 1, y + int(ys.max()) + 1)
        if box[3] - box[1] > 1.8 * height_estimate:
            parts = _split_rows(ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1], box[0], box[1], height_estimate)
            boxes.extend(part for part in parts if part[3] - part[1] <= 3 * height_estimate)
        else:
            boxes.append(box)
    return _group_lines(boxes, height_estimate, gray.shape)


def _group_lines(boxes, height_estimate: float, shape) -> list[Chunk]:
    page_h, page_w = shape[:2]
    # Boxes come in order of their vertical centre, so only the most recent lines can
    # take a box; each line keeps running sums of its members' tops and bottoms.
    lines: list[list[tuple[int, int, int, int]]] = []
    sums: list[list[float]] = []  # [sum of tops, sum of bottoms]
    tolerance = 0.15 * height_estimate
    for box in sorted(boxes, key=lambda b: (b[1] + b[3]) / 2):
        centre = (box[1] + box[3]) / 2
        for index in range(len(lines) - 1, max(-1, len(lines) - 6), -1):
            count = len(lines[index])
            top, bottom = sums[index][0] / count, sums[index][1] / count
            if top - tolerance <= centre <= bottom + tolerance:
                lines[index].append(box)
                sums[index][0] += box[1]
                sums[index][1] += box[3]
                break
        else:
            lines.append([box])
            sums.append([float(box[1]), float(box[3])])

    chunks: list[Chunk] = []
    for line_index, line in enumerate(sorted(lines, key=lambda l: min(b[1] for b in l))):
        tallest = max(b[3] - b[1] for b in line)
        tall = [b for b in line if b[3] - b[1] >= 0.7 * tallest] or line
        band_top = int(np.median([b[1] for b in tall]))
        band_bottom = int(np.median([b[3] for b in tall]))
        for box in sorted(line):
            top, bottom = min(band_top, box[1]), max(band_bottom, box[3])
            band = bottom - top
            pad_y, pad_x = PAD_VERTICAL * band, PAD_HORIZONTAL * band
            crop = (
                max(0, int(box[0] - pad_x)),
                max(0, int(top - pad_y)),
                min(page_w, int(np.ceil(box[2] + pad_x))),
                min(page_h, int(np.ceil(bottom + pad_y))),
            )
            chunks.append(Chunk(box=box, crop_box=crop, line=line_index))
    return chunks
