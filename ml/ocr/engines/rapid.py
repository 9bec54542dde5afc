"""RapidOCR: PaddleOCR's PP-OCRv4 Chinese detection and recognition models as ONNX,
bundled in the `rapidocr-onnxruntime` package (nothing is downloaded), on the CPU.

RapidOCR returns text lines (or line pieces split at wide gaps) as quadrilaterals;
we hand them on as words with their bounding boxes. Its own 180-degree line
classifier is off: `ml.ocr.preprocess` has already turned the page upright.
"""

from __future__ import annotations

import numpy as np

from ml.ocr.types import Word


class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self):
        from importlib.metadata import version

        from rapidocr_onnxruntime import RapidOCR

        # One intra-op thread: a worker process per core scales better than threads here.
        self._ocr = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
        self.version = f"rapidocr-onnxruntime-{version('rapidocr-onnxruntime')}-ppocrv4"

    def read(self, image: np.ndarray) -> list[Word]:
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        result, _elapsed = self._ocr(image, use_cls=False)
        words = []
        for quad, text, score in result or []:
            quad = np.asarray(quad, dtype=np.float32)
            x0, y0 = quad.min(axis=0)
            x1, y1 = quad.max(axis=0)
            text = text.strip()
            if text:
                words.append(Word(text=text, box=(int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1))),
                                  confidence=float(score)))
        return words
