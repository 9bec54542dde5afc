"""Keyword search over experts with jieba segmentation.

An expert's name, specialties, department and title are segmented once, when the
expert is saved (`search_text_for`), in jieba's search mode, which also emits the
shorter words inside long ones (糖尿病 -> 糖尿, 尿病, 糖尿病). A query is segmented
in precise mode and every resulting word must occur in one of those words: "心内科
高血压" finds cardiologists who treat hypertension, "糖尿" finds 糖尿病 specialists.

Finding them without reading every expert: `search_terms_for` lists each one- and
two-character piece of the stored words (ExpertSearchTerm rows, indexed). A query
word of one or two characters is looked up directly; a longer one through its
two-character pieces, then checked whole on those candidates only.
"""

import re
import threading

import jieba

_lock = threading.Lock()
_ready = False
_PUNCTUATION = re.compile(r"[\s,，、;；。.·/()（）\[\]【】:：\"'“”‘’!?！？-]+")


def _jieba():
    # Building jieba's prefix dictionary takes about a second; do it once per process,
    # and not concurrently (jieba's own initialisation is not thread-safe).
    global _ready
    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(60)
                jieba.initialize()
                _ready = True
    return jieba


def _words(text: str, *, search_mode: bool) -> list[str]:
    segment = _jieba().cut_for_search if search_mode else _jieba().cut
    words = []
    for piece in _PUNCTUATION.split(text.lower()):
        if piece:
            words.extend(word for word in segment(piece) if word.strip())
    return words


def search_text_for(*parts: str) -> str:
    """The stored search text: unique words, space separated, with the parts
    themselves so a whole name or phrase always matches."""
    seen = []
    for part in parts:
        for word in [*_words(part, search_mode=True), *(p for p in _PUNCTUATION.split(part.lower()) if p)]:
            if word not in seen:
                seen.append(word)
    return " " + " ".join(seen) + " "


def query_words(query: str) -> list[str]:
    """The words a query must all match, in order, without repeats (at most 8)."""
    words = []
    for word in _words(query or "", search_mode=False):
        if word not in words:
            words.append(word)
    return words[:8]


def search_terms_for(search_text: str) -> set[str]:
    """Every one- and two-character piece of the words of a stored search text."""
    terms = set()
    for word in search_text.split():
        terms.update(word)
        terms.update(word[index:index + 2] for index in range(len(word) - 1))
    return terms


def query_pieces(word: str) -> set[str]:
    """The index terms a query word needs (all must be present)."""
    return {word} if len(word) <= 2 else {word[index:index + 2] for index in range(len(word) - 1)}
