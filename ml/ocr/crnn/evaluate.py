"""Strict metrics on held-out synthetic lines: line accuracy (exact match after label
normalisation) and character error rate (edit distance / reference length), overall and
for numeric lines (values, ranges), which matter most on a report.

Spaces are left out of the comparison: a narrow space between "4.5" and "↑" is not
visible reliably, and neither the report extraction nor Chinese text depends on it."""

from __future__ import annotations

import time

import numpy as np

from ml.ocr.crnn.charset import normalise

NUMERIC_CHARS = set("0123456789.-~<>≤≥()[] ↑↓HL*")


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def held_out_lines(renderer, count: int, seed: int) -> list[tuple[np.ndarray, str]]:
    rng = np.random.default_rng(seed)
    return [renderer.sample(rng) for _ in range(count)]


def score(predictions: list[str], references: list[str]) -> dict:
    def block(pairs):
        if not pairs:
            return {"lines": 0}
        exact = sum(_compact(p) == _compact(r) for p, r in pairs)
        errors = sum(edit_distance(_compact(p), _compact(r)) for p, r in pairs)
        chars = sum(len(_compact(r)) for _, r in pairs)
        return {"lines": len(pairs), "line_accuracy": round(exact / len(pairs), 4), "cer": round(errors / max(1, chars), 4)}

    pairs = list(zip(predictions, references))
    numeric = [(p, r) for p, r in pairs if set(normalise(r)) <= NUMERIC_CHARS and any(c.isdigit() for c in r)]
    with_cjk = [(p, r) for p, r in pairs if any("\u4e00" <= c <= "\u9fff" for c in r)]
    return {"all": block(pairs), "numeric": block(numeric), "chinese": block(with_cjk)}


def evaluate_recogniser(recogniser, lines: list[tuple[np.ndarray, str]]) -> dict:
    started = time.perf_counter()
    predictions = [text for text, _confidences in recogniser.read_prepared([image for image, _ in lines])]
    elapsed = time.perf_counter() - started
    result = score(predictions, [text for _, text in lines])
    result["ms_per_line"] = round(1000 * elapsed / max(1, len(lines)), 2)
    result["examples"] = [
        {"truth": truth, "read": read} for (_, truth), read in zip(lines, predictions) if _compact(truth) != _compact(read)
    ][:15]
    return result


def _compact(text: str) -> str:
    return normalise(text).replace(" ", "")


def score_page(words, truth: dict) -> dict:
    """How many report items a list of Words recovers: the item name as one word, and on
    its row (vertical centres close, see below) the first word to the right
    equal to the printed value (an indicator: name and value both right), and the printed
    range anywhere on the row. Counts, not rates, so pages add up."""
    from ml.labreport.cbc_items import CBC_ITEMS_BY_CODE

    by_text: dict[str, list] = {}
    for word in words:
        by_text.setdefault(_compact(word.text), []).append(word)
    names = indicators = ranges = 0
    for item in truth["items"]:
        decimals = CBC_ITEMS_BY_CODE[item["code"]].decimals
        value_text = f"{item['value']:.{decimals}f}"
        range_text = f"{item['range_low']:.{decimals}f}-{item['range_high']:.{decimals}f}"
        candidates = by_text.get(_compact(item["name"]), [])
        names += bool(candidates)
        row_ok = range_ok = False
        for name_word in candidates:
            # A row may climb or fall slightly across the page (perspective): allow
            # half a word height plus 3% of the horizontal distance.
            row = sorted(
                (
                    w for w in words
                    if w.box[0] >= name_word.box[2]
                    and abs(w.y_center - name_word.y_center) <= name_word.height / 2 + 0.03 * (w.box[0] - name_word.box[2])
                ),
                key=lambda w: w.box[0],
            )
            row_ok |= bool(row) and _compact(row[0].text).rstrip("↑↓HL") == value_text
            range_ok |= any(_compact(w.text) == range_text for w in row)
        indicators += row_ok
        ranges += range_ok
    return {"items": len(truth["items"]), "names": names, "indicators": indicators, "ranges": ranges}


def upright_photo(image: np.ndarray, truth: dict) -> np.ndarray:
    """Undo a synthetic photo's quarter turn and skew from its ground truth: what
    ml.ocr.preprocess hands an engine, minus the perspective correction."""
    import cv2

    turns = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
    if truth["rotation"]:
        image = cv2.rotate(image, turns[truth["rotation"]])
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -truth["skew_degrees"], 1.0)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
