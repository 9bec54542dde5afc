"""Upright or upside down? Decided by PaddleOCR's text-direction classifier (the
0/180-degree "cls" model bundled with rapidocr-onnxruntime, 0.6 MB, ONNX) voting over
text-line pieces cut from the page by their ink profile.

Tesseract's orientation detector was the first choice; on photographed Chinese
tables it missed one page in five. The classifier looks at the glyphs themselves.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

_classifier = None
_lock = threading.Lock()
MAX_PIECES = 24


def _load():
    global _classifier
    with _lock:
        if _classifier is None:
            from pathlib import Path

            import rapidocr_onnxruntime
            from rapidocr_onnxruntime.ch_ppocr_cls import TextClassifier
            from rapidocr_onnxruntime.utils import read_yaml

            root = Path(rapidocr_onnxruntime.__file__).parent
            config = read_yaml(str(root / "config.yaml"))["Cls"]
            config.update(model_path=str(root / config["model_path"]), intra_op_num_threads=1,
                          inter_op_num_threads=1)
            _classifier = TextClassifier(config)
    return _classifier


def line_pieces(binary: np.ndarray, max_pieces: int = MAX_PIECES) -> list[np.ndarray]:
    """Crops of text (about 4:1, like the classifier's input) from the inkiest lines."""
    ink = (binary < 128).astype(np.uint8)
    rows = ink.sum(axis=1).astype(np.int64)
    threshold = max(2, 0.02 * binary.shape[1])
    bands, start = [], None
    for y, count in enumerate(rows):
        if count > threshold and start is None:
            start = y
        elif count <= threshold and start is not None:
            if 8 <= y - start <= 120:
                bands.append((start, y))
            start = None
    pieces = []
    for top, bottom in sorted(bands, key=lambda b: -rows[b[0]:b[1]].sum())[:max_pieces]:
        height = bottom - top
        pad = height // 4
        band = binary[max(0, top - pad):bottom + pad]
        columns = np.flatnonzero(ink[top:bottom].sum(axis=0))
        if columns.size == 0:
            continue
        left, right = columns[0], columns[-1]
        width = 4 * height
        for x in range(left, right, width):
            piece = band[:, x:x + width]
            if (piece < 128).mean() > 0.05:
                pieces.append(cv2.cvtColor(piece, cv2.COLOR_GRAY2BGR))
                break  # one piece per line: lines vote, not long lines
    return pieces


def is_upside_down(binary: np.ndarray) -> bool:
    pieces = line_pieces(binary)
    if not pieces:
        return False
    _, results, _ = _load()(pieces)
    vote = sum(score if label == "180" else -score for label, score in results)
    return vote > 0
