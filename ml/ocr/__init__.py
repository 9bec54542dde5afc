"""OCR for photographed documents (no Django).

- `ml.ocr.preprocess`: OpenCV clean-up: orientation, deskew, perspective, binarisation.
- `ml.ocr.engines`: text engines behind one interface (`OcrEngine.read`), chosen by name.
- `ml.ocr.types`: the `Word` every engine returns.
"""
