"""OCR engines by name. Each engine module is imported only when asked for, so a
process that reads with Tesseract never loads TensorFlow or ONNX Runtime.

Names: "tesseract", "rapidocr", "crnn".
"""

from __future__ import annotations

import importlib
import threading

from .base import OcrEngine

ENGINE_CLASSES = {
    "tesseract": "ml.ocr.engines.tesseract:TesseractEngine",
    "rapidocr": "ml.ocr.engines.rapid:RapidOcrEngine",
    "crnn": "ml.ocr.engines.crnn:CrnnEngine",
}
ENGINE_NAMES = tuple(ENGINE_CLASSES)

_loaded: dict[str, OcrEngine] = {}
_lock = threading.Lock()


class UnknownEngine(ValueError):
    pass


def get_engine(name: str) -> OcrEngine:
    """The process-wide instance of an engine, created (models loaded) on first use."""
    if name not in ENGINE_CLASSES:
        raise UnknownEngine(f"unknown OCR engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}")
    with _lock:
        if name not in _loaded:
            module_name, class_name = ENGINE_CLASSES[name].split(":")
            _loaded[name] = getattr(importlib.import_module(module_name), class_name)()
        return _loaded[name]
