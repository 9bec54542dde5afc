"""The Featurizer: vocabularies, lexicon and segmenter that turn a window of
text into padded model inputs, saved beside the weights as vocab.json."""

import json
from collections import Counter
from pathlib import Path

import numpy as np

from .config import ModelConfig
from .features import Lexicon, Segmenter, Vocab, bigram_keys, normalise, word_graph


def _extend(vocab: Vocab, extra, max_size: int) -> Vocab:
    if not extra:
        return vocab
    items, seen = list(vocab.items), set(vocab.items)
    for item in extra:
        if len(items) >= max_size:
            break
        if item not in seen:
            items.append(item)
            seen.add(item)
    return Vocab(items)


class Featurizer:
    def __init__(self, config: ModelConfig, chars: Vocab, bigrams: Vocab, lexicon: Lexicon | None):
        self.config = config
        self.chars = chars
        self.bigrams = bigrams
        self.lexicon = lexicon
        self.context = None  # a ContextStates (ml/ner/context.py) when config.context is not "none"
        self.segmenter = Segmenter(list(lexicon.words) if lexicon else []) if config.use_seg or config.uses_graph else None

    @property
    def lex_width(self) -> int:
        return self.lexicon.width if self.lexicon else 0

    @classmethod
    def build(cls, config: ModelConfig, texts: list[str], lexicon: Lexicon | None, *, bigram_min_count=2, bigram_max=20000,
              extra_chars=(), extra_bigrams=()):
        """Vocabularies of the training texts, then (up to the size caps) the
        items that have pre-trained vectors (`extra_*`, most frequent first)."""
        char_counts, bigram_counts = Counter(), Counter()
        for text in texts:
            norm = normalise(text)
            char_counts.update(norm)
            bigram_counts.update(bigram_keys(norm))
        chars = Vocab.build(char_counts, min_count=1, max_size=8000)
        bigrams = Vocab.build(bigram_counts, min_count=bigram_min_count, max_size=bigram_max) if config.use_bigram else Vocab([])
        chars = _extend(chars, extra_chars, 8000)
        if config.use_bigram:
            bigrams = _extend(bigrams, extra_bigrams, bigram_max)
        return cls(config, chars, bigrams, lexicon)

    def encode(self, text: str, *, lexicon: Lexicon | None = None, segmenter: Segmenter | None = None) -> dict:
        """Inputs for one window. `lexicon`/`segmenter` override the saved ones
        (training uses cross-fitted ones so train features look like dev ones)."""
        norm = normalise(text)
        out = {"chars": np.asarray(self.chars.ids(norm), dtype=np.int32)}
        if self.config.use_bigram:
            out["bigrams"] = np.asarray(self.bigrams.ids(bigram_keys(norm)), dtype=np.int32)
        lexicon = lexicon or self.lexicon
        segmenter = segmenter or self.segmenter
        words = segmenter.spans(norm) if segmenter else []
        if self.config.use_seg:
            out["seg"] = segmenter.features(norm, words)
        if lexicon:
            out["lex"] = lexicon.features(norm)
        if self.config.context != "none":
            out["context"] = self.context(text)
        if self.config.uses_graph:
            matched = [(s, e) for s, e, _ in lexicon.matches(norm)] if lexicon else []
            out["adj_fwd"], out["adj_bwd"] = word_graph(len(norm), words + matched)
        return out

    @staticmethod
    def pad(items: list[dict]) -> dict:
        width = max(len(item["chars"]) for item in items)
        batch = {}
        for key in items[0]:
            sample = items[0][key]
            if key.startswith("adj_"):
                array = np.zeros((len(items), width, width), dtype=np.float32)
                for i, item in enumerate(items):
                    n = len(item[key])
                    array[i, :n, :n] = item[key]
            else:
                array = np.zeros((len(items), width) + sample.shape[1:], dtype=sample.dtype)
                for i, item in enumerate(items):
                    array[i, : len(item[key])] = item[key]
            batch[key] = array
        return batch

    def save(self, path: Path) -> None:
        data = {
            "chars": self.chars.items,
            "bigrams": self.bigrams.items,
            "lexicon": self.lexicon.to_json() if self.lexicon else None,
        }
        Path(path).write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    @classmethod
    def load(cls, path: Path, config: ModelConfig):
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        lexicon = Lexicon.from_json(data["lexicon"]) if data.get("lexicon") else None
        return cls(config, Vocab(data["chars"]), Vocab(data["bigrams"]), lexicon)
