"""Our own recogniser: OpenCV finds the text chunks, the CRNN (ml.ocr.crnn) reads them.

The model and charset ship in ml/ocr/crnn/weights, so a fresh clone reads pages without
training. One instance per process (`ml.ocr.engines.get_engine("crnn")`) loads the model
once; `read` is thread-safe. Near-miss readings of known report terms are corrected
with the model's own likelihoods (ml.ocr.crnn.lexicon); numbers never are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.ocr.crnn.config import WEIGHTS_DIR
from ml.ocr.crnn.segment import find_chunks, to_gray
from ml.ocr.types import Word


class CrnnEngine:
    name = "crnn"

    def __init__(self, model_dir: str | Path = WEIGHTS_DIR, use_lexicon: bool = True):
        from ml.ocr.crnn.lexicon import Lexicon
        from ml.ocr.crnn.serving import Recogniser

        self.recogniser = Recogniser(model_dir)
        self.version = self.recogniser.version
        self.lexicon = Lexicon(self.recogniser.codec) if use_lexicon else None

    def read(self, image: np.ndarray) -> list[Word]:
        gray = to_gray(np.asarray(image))
        chunks = find_chunks(gray)
        if not chunks:
            return []
        crops = [gray[y0:y1, x0:x1] for x0, y0, x1, y1 in (chunk.crop_box for chunk in chunks)]
        words = []
        for chunk, (text, confidences) in zip(chunks, self.recogniser.read(crops, self.lexicon)):
            text = text.strip()
            if not text:
                continue
            words.append(Word(text=text, box=chunk.box, confidence=round(float(np.mean(confidences)), 4)))
        return words
