"""Lexicon correction: a chunk that reads almost like a known report term is replaced by
the term when the model's own output probabilities (CTC likelihood over all alignments)
find the term about as likely as what greedy decoding read.

Edit distance alone cannot choose between 嗜酸性粒细胞百分比 and 嗜碱性粒细胞百分比 (one
character apart); the likelihood can, because it looks at what the model saw. Numbers
are never corrected: they have no lexicon.
"""

from __future__ import annotations

import numpy as np

from ml.ocr.crnn import vocab
from ml.ocr.crnn.charset import Codec, normalise
from ml.ocr.crnn.evaluate import edit_distance

MARGIN = 3.0  # nats: how much less likely than the greedy reading a term may be


def ctc_log_likelihood(log_probs: np.ndarray, labels: list[int]) -> float:
    """log P(labels | frame log-probabilities (time, classes)), blank 0, by the CTC
    forward algorithm."""
    steps = log_probs.shape[0]
    extended = [0]
    for label in labels:
        extended += [label, 0]
    size = len(extended)
    if steps == 0 or size > 2 * steps + 1:
        return -np.inf
    alpha = np.full(size, -np.inf)
    alpha[0] = log_probs[0, 0]
    if size > 1:
        alpha[1] = log_probs[0, extended[1]]
    extended_arr = np.array(extended)
    skip = np.zeros(size, bool)
    skip[2:] = (extended_arr[2:] != 0) & (extended_arr[2:] != extended_arr[:-2])
    for t in range(1, steps):
        shifted1 = np.concatenate(([-np.inf], alpha[:-1]))
        shifted2 = np.concatenate(([-np.inf, -np.inf], alpha[:-2]))
        shifted2 = np.where(skip, shifted2, -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, shifted1), shifted2) + log_probs[t, extended_arr]
    return float(np.logaddexp(alpha[-1], alpha[-2]) if size > 1 else alpha[-1])


def default_terms() -> list[str]:
    terms = [*vocab.CBC_NAMES, *vocab.PANEL_NAMES, *vocab.LABELS]
    return sorted({normalise(term) for term in terms if any("\u4e00" <= c <= "\u9fff" for c in term)})


class Lexicon:
    def __init__(self, codec: Codec, terms: list[str] | None = None):
        self.codec = codec
        self.terms = [t for t in (terms or default_terms()) if codec.covers(t)]
        self.known = set(self.terms)

    def correct(self, text: str, probabilities: np.ndarray) -> str | None:
        """The term to use instead of `text`, or None to keep it."""
        if text in self.known or not any("\u4e00" <= c <= "\u9fff" for c in text):
            return None
        candidates = [
            term for term in self.terms
            if abs(len(term) - len(text)) <= 2 and edit_distance(term, text) <= max(1, len(term) // 3)
        ]
        if not candidates:
            return None
        log_probs = np.log(np.clip(probabilities, 1e-12, 1.0))
        reading = ctc_log_likelihood(log_probs, self.codec.encode(text))
        scored = [(ctc_log_likelihood(log_probs, self.codec.encode(term)), term) for term in candidates]
        best_score, best = max(scored)
        return best if best_score >= reading - MARGIN else None
