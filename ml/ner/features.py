"""Turning text into the model's inputs, one character at a time.

Every feature is aligned to the characters of the ORIGINAL text: normalisation
(full-width to half-width, lower case, digits folded) only changes the lookup
key, never the length, so predicted offsets are offsets into what the caller sent.

- chars: character ids; bigrams: ids of (c[i], c[i+1]);
- seg: the jieba word-position tag (B, M, E, S) of each character, from a jieba
  tokenizer that knows the medical lexicon as a user dictionary;
- lex: for each lexicon type, whether the character Begins, is in the Middle of,
  Ends or is a Single-character lexicon word of that type (multi-hot);
- graph (GCN only): the character-word graph, chars linked when they share a
  jieba word or lexicon match, split into forward and backward edges.
"""

import logging
import unicodedata
from collections import Counter

import numpy as np

PAD, UNK = 0, 1
SEG_TAGS = {"B": 1, "M": 2, "E": 3, "S": 4}
MAX_WORD = 20
WORD_FREQ = 5000


def normalise_char(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char)
    if len(folded) != 1:
        folded = char
    folded = folded.lower()
    if folded.isdigit():
        return "0"
    if unicodedata.category(folded)[0] in ("C", "Z"):
        return " "  # control, format and separator characters look alike to the model
    return folded


def normalise(text: str) -> str:
    return "".join(normalise_char(c) for c in text)


class Vocab:
    def __init__(self, items: list[str]):
        self.items = list(items)
        self.index = {item: i + 2 for i, item in enumerate(self.items)}

    def __len__(self):
        return len(self.items) + 2

    def ids(self, keys) -> list[int]:
        return [self.index.get(k, UNK) for k in keys]

    @classmethod
    def build(cls, counts: Counter, *, min_count: int, max_size: int):
        ranked = sorted((k for k, n in counts.items() if n >= min_count), key=lambda k: (-counts[k], k))
        return cls(ranked[:max_size])


def bigram_keys(norm: str) -> list[str]:
    return [norm[i : i + 2] if i + 1 < len(norm) else norm[i] + "</s>" for i in range(len(norm))]


class Lexicon:
    """Surface forms with their types, matched exhaustively (every length up to
    MAX_WORD at every position), on normalised text."""

    def __init__(self, words: dict[str, set[str]], types: list[str]):
        self.types = list(types)
        self.type_index = {t: i for i, t in enumerate(self.types)}
        self.words = {w: set(ts) & set(self.types) for w, ts in words.items() if w}
        self.max_len = min(MAX_WORD, max((len(w) for w in self.words), default=1))
        # every proper prefix of a word: matching stops growing a piece as soon as
        # no word starts with it, instead of trying all MAX_WORD lengths
        self.prefixes = {w[:k] for w in self.words for k in range(1, len(w))}

    @property
    def width(self) -> int:
        return 4 * len(self.types)

    def matches(self, norm: str):
        words, prefixes, n = self.words, self.prefixes, len(norm)
        for i in range(n):
            for end in range(i + 1, min(n, i + self.max_len) + 1):
                piece = norm[i:end]
                types = words.get(piece)
                if types:
                    yield i, end, types
                if piece not in prefixes:
                    break

    def features(self, norm: str) -> np.ndarray:
        out = np.zeros((len(norm), self.width), dtype=np.float32)
        for start, end, types in self.matches(norm):
            for t in types:
                base = 4 * self.type_index[t]
                if end - start == 1:
                    out[start, base + 3] = 1
                    continue
                out[start, base] = 1
                out[start + 1 : end - 1, base + 1] = 1
                out[end - 1, base + 2] = 1
        return out

    def to_json(self) -> dict:
        return {"types": self.types, "words": {w: sorted(ts) for w, ts in sorted(self.words.items())}}

    @classmethod
    def from_json(cls, data: dict):
        return cls({w: set(ts) for w, ts in data["words"].items()}, data["types"])

    @classmethod
    def from_records(cls, groups: list[tuple[str, list]], types: list[str]):
        """groups: (prefix, records); the type of a word is prefix + label, so
        CCKS's DIS and CMeEE's DIS stay distinct types."""
        words: dict[str, set[str]] = {}
        for prefix, records in groups:
            for record in records:
                for span in record.spans:
                    word = normalise(record.text[span.start : span.end]).strip()
                    if 0 < len(word) <= MAX_WORD:
                        words.setdefault(word, set()).add(prefix + span.label)
        return cls(words, types)


class Segmenter:
    """jieba with the lexicon as a user dictionary (its own Tokenizer, so the
    process-wide jieba dictionary is left alone)."""

    def __init__(self, words: list[str]):
        import jieba

        jieba.setLogLevel(logging.WARNING)
        self.tokenizer = jieba.Tokenizer()
        self.tokenizer.initialize()
        for word in words:
            if len(word) > 1 and not any(c.isspace() for c in word):
                # a fixed, high frequency: suggest_freq would segment every word (slow)
                self.tokenizer.add_word(word, freq=WORD_FREQ)

    def spans(self, norm: str) -> list[tuple[int, int]]:
        out, at = [], 0
        for word in self.tokenizer.cut(norm, HMM=True):
            out.append((at, at + len(word)))
            at += len(word)
        return out

    def features(self, norm: str, spans=None) -> np.ndarray:
        tags = np.zeros(len(norm), dtype=np.int32)
        for start, end in spans if spans is not None else self.spans(norm):
            if end - start == 1:
                tags[start] = SEG_TAGS["S"]
            else:
                tags[start] = SEG_TAGS["B"]
                tags[start + 1 : end - 1] = SEG_TAGS["M"]
                tags[end - 1] = SEG_TAGS["E"]
        return tags


def word_graph(length: int, word_spans) -> tuple[np.ndarray, np.ndarray]:
    """Forward (a char hears the chars before it in its words) and backward
    adjacency of the character-word graph, each with self loops, row-normalised."""
    fwd = np.eye(length, dtype=np.float32)
    bwd = np.eye(length, dtype=np.float32)
    for start, end in word_spans:
        if end - start < 2:
            continue
        for j in range(start + 1, end):
            fwd[j, start:j] = 1
        for i in range(start, end - 1):
            bwd[i, i + 1 : end] = 1
    return fwd / fwd.sum(1, keepdims=True), bwd / bwd.sum(1, keepdims=True)
