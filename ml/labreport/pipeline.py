"""Photo -> indicators: preprocessing, OCR, extraction (no Django).

    analysis = analyse_image(image, engine="rapidocr", sex="F", age=42)

Engines: "tesseract", "rapidocr", "crnn" (ml/ocr/engines), or "auto": RapidOCR, and
Tesseract as well when RapidOCR finds fewer than `AUTO_MIN_ITEMS` indicators, keeping
whichever found more. Each engine reads the image it reads best: the CRNN the binarised
page, Tesseract and RapidOCR the evened grayscale.
"""

from __future__ import annotations

import time

import numpy as np

from ml.labreport.extract import extract_items, row_texts
from ml.labreport.types import Analysis
from ml.ocr.engines import ENGINE_NAMES, UnknownEngine, get_engine
from ml.ocr.preprocess import prepare_page

ENGINE_CHOICES = (*ENGINE_NAMES, "auto")
AUTO_MIN_ITEMS = 5
_BINARY_INPUT = {"crnn"}


def _read(engine_name: str, page, sex, age) -> tuple[Analysis, float]:
    engine = get_engine(engine_name)
    started = time.perf_counter()
    words = engine.read(page.binary if engine_name in _BINARY_INPUT else page.gray)
    ocr_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    items = extract_items(words, sex=sex, age=age)
    analysis = Analysis(items=items, rotation=page.rotation, engine=engine.name, engine_version=engine.version,
                        lines=row_texts(words))
    analysis.timings_ms["ocr_ms"] = round(ocr_ms, 1)
    analysis.timings_ms["extract_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return analysis, ocr_ms


def analyse_image(image: np.ndarray, *, engine: str = "tesseract", sex: str | None = None,
                  age: int | None = None) -> Analysis:
    if engine not in ENGINE_CHOICES:
        raise UnknownEngine(f"unknown OCR engine {engine!r}; choose one of {', '.join(ENGINE_CHOICES)}")
    started = time.perf_counter()
    page = prepare_page(image)
    if engine == "auto":
        analysis, _ = _read("rapidocr", page, sex, age)
        if len(analysis.items) < AUTO_MIN_ITEMS:
            fallback, _ = _read("tesseract", page, sex, age)
            if len(fallback.items) > len(analysis.items):
                fallback.timings_ms["ocr_ms"] += analysis.timings_ms["ocr_ms"]
                analysis = fallback
    else:
        analysis, _ = _read(engine, page, sex, age)
    analysis.timings_ms = {**page.timings_ms, **analysis.timings_ms,
                           "total_ms": round((time.perf_counter() - started) * 1000, 1)}
    if not analysis.items:
        analysis.warnings.append("no_indicators")
    return analysis
