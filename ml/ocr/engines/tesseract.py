"""Tesseract 5 through pytesseract, Simplified Chinese.

Workers set OMP_THREAD_LIMIT=1 (Tesseract's OpenMP threads fight Celery's processes
for the cores otherwise); we set it here too before the first call. `--psm 6` reads
the page as one uniform block of text, which keeps table rows intact.

Languages: `chi_sim` alone, not `chi_sim+eng`. The Chinese model reads Latin letters
and digits too, and on generated report photos it found 14 of 18 indicators where
`chi_sim+eng` found 10, in half the time: with both, the English model wins on many
Chinese words and turns them into Latin garbage. It reads the evened grayscale page
(its own Otsu step does better than ours). Set TESSERACT_LANGUAGES to change it.
"""

from __future__ import annotations

import os

import numpy as np

from ml.ocr.types import Word

LANGUAGES = os.environ.get("TESSERACT_LANGUAGES", "chi_sim")
CONFIG = "--oem 1 --psm 6 -c preserve_interword_spaces=1"


class TesseractEngine:
    name = "tesseract"

    def __init__(self):
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        import pytesseract

        self._pytesseract = pytesseract
        self.version = f"tesseract-{pytesseract.get_tesseract_version()}-{LANGUAGES}"

    def read(self, image: np.ndarray) -> list[Word]:
        data = self._pytesseract.image_to_data(image, lang=LANGUAGES, config=CONFIG,
                                               output_type=self._pytesseract.Output.DICT)
        words = []
        for text, left, top, width, height, conf in zip(data["text"], data["left"], data["top"], data["width"],
                                                         data["height"], data["conf"]):
            text = text.strip()
            if not text or float(conf) < 0:
                continue
            words.append(Word(text=text, box=(left, top, left + width, top + height),
                              confidence=max(0.0, min(1.0, float(conf) / 100))))
        return words
