"""The one adapter between the platform and ml.ner.

A hospital's active "ner" model (activated in the model registry) serves through
the model pool; a hospital with none uses the default model shipped in
ml/ner/default_model, loaded once per process like a pooled one.
"""

import functools
import time
from dataclasses import dataclass

from apps.configuration.serving import NoActiveModelError, model_pool

TASK = "ner"


_LOADED: dict[str, object] = {}
_KEEP = 4


def _load(path):
    """Taggers by content checksum: the same files registered twice (or under a new
    path) reuse the loaded model and its traced graph instead of building another."""
    from ml.artifacts import artifact_checksum
    from ml.ner.serving import load_tagger

    key = artifact_checksum(path)
    if key not in _LOADED:
        while len(_LOADED) >= _KEEP:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = load_tagger(path)
    return _LOADED[key]


model_pool.register_loader(TASK, _load)


@dataclass(frozen=True)
class Tagged:
    spans: list  # list[list[ml.ner.data.Span]], one list per text
    model_version: str
    milliseconds: float


@functools.lru_cache(maxsize=1)
def _default():
    from ml.artifacts import read_model_card
    from ml.ner.serving import DEFAULT_MODEL, load_tagger

    card = read_model_card(DEFAULT_MODEL)
    return load_tagger(DEFAULT_MODEL), f"default:{card.get('version', 'unknown')}"


def _agreement(a, b) -> float:
    left = {(s.start, s.end, s.label) for spans in a for s in spans}
    right = {(s.start, s.end, s.label) for spans in b for s in spans}
    return 1.0 if not left | right else len(left & right) / len(left | right)


def ner_tag(texts: list[str], *, subject: tuple[str, object] = ("", "")) -> Tagged:
    """Entity spans for each text, with the version of the model that found them."""
    try:
        result = model_pool.run(TASK, texts, predict=lambda tagger, batch: tagger.predict(batch),
                                compare=_agreement, subject=subject)
        return Tagged(result.output, result.model.label, result.milliseconds)
    except NoActiveModelError:
        tagger, version = _default()
        started = time.perf_counter()
        spans = tagger.predict(texts)
        return Tagged(spans, version, (time.perf_counter() - started) * 1000)
