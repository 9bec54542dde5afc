"""Loading a trained NER artifact once and tagging batches of texts.

An artifact is a directory: model.weights.h5, config.json, vocab.json and
MODEL_CARD.json. `Tagger.predict` takes any strings (empty, huge, non-Chinese,
with control characters) and returns spans whose offsets are valid for them.
"""

import json
from pathlib import Path

from .config import ModelConfig, TrainConfig, from_dict
from .crf import viterbi
from .data import Span
from .encoding import Featurizer
from .labels import CCKS_NAMES
from .tagging import decode
from .windows import plan_windows

DEFAULT_MODEL = Path(__file__).resolve().parent / "default_model"
MAX_TEXT = 1_000_000  # characters; longer inputs are refused, not truncated silently


class TextTooLong(ValueError):
    pass


def input_signature(config: ModelConfig, lex_width: int) -> dict:
    import tensorflow as tf

    spec = {"chars": tf.TensorSpec([None, None], tf.int32, name="chars")}
    if config.use_bigram:
        spec["bigrams"] = tf.TensorSpec([None, None], tf.int32, name="bigrams")
    if config.use_seg:
        spec["seg"] = tf.TensorSpec([None, None], tf.int32, name="seg")
    if lex_width:
        spec["lex"] = tf.TensorSpec([None, None, lex_width], tf.float32, name="lex")
    if config.context != "none":
        spec["context"] = tf.TensorSpec([None, None, config.context_dim], tf.float32, name="context")
    if config.uses_graph:
        spec["adj_fwd"] = tf.TensorSpec([None, None, None], tf.float32, name="adj_fwd")
        spec["adj_bwd"] = tf.TensorSpec([None, None, None], tf.float32, name="adj_bwd")
    return spec


class Tagger:
    """Tags texts with one model, or with several sharing this featurizer (an
    ensemble, see ml/ner/ensemble.py): their emissions and CRF parameters are
    averaged and decoded once."""

    def __init__(self, model, featurizer: Featurizer, config: ModelConfig, *, window: int = 256, batch_size: int = 32):
        import tensorflow as tf

        models = list(model) if isinstance(model, (list, tuple)) else [model]
        self.model = models[0]
        self.models = models
        self.featurizer = featurizer
        self.config = config
        self.window = window
        self.batch_size = batch_size
        crfs = [m.get_layer("crf") for m in models] if config.uses_crf else []

        # one signature with free batch and length: a graph traced once, whatever the batch shape
        @tf.function(input_signature=[input_signature(config, featurizer.lex_width)])
        def run(inputs):
            emissions = tf.add_n([m(inputs, training=False) for m in models]) / len(models)
            if not crfs:
                return tf.argmax(emissions, axis=-1, output_type=tf.int32)
            parameters = [crf.parameters() for crf in crfs]
            trans, start, end = (tf.add_n(list(p)) / len(crfs) for p in zip(*parameters))
            return viterbi(emissions, tf.not_equal(inputs["chars"], 0), trans, start, end)[0]

        self._run = run

    def predict(self, texts: list[str]) -> list[list[Span]]:
        pieces = []  # (text index, window start, window text)
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError("texts must be strings")
            if len(text) > MAX_TEXT:
                raise TextTooLong(f"text {index} has {len(text)} characters; the limit is {MAX_TEXT}")
            for start, end in plan_windows(text, self.window):
                pieces.append((index, start, text[start:end]))
        if self.featurizer.context is not None:
            self.featurizer.context.prefill([p[2] for p in pieces])
        results: list[list[Span]] = [[] for _ in texts]
        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i][2]))
        for at in range(0, len(order), self.batch_size):
            chunk = [pieces[i] for i in order[at : at + self.batch_size]]
            batch = Featurizer.pad([self.featurizer.encode(p[2]) for p in chunk])
            paths = self._run(batch).numpy()
            for (index, start, piece), path in zip(chunk, paths):
                tags = [self.config.tags[t] for t in path[: len(piece)]]
                results[index].extend(Span(s.start + start, s.end + start, s.label) for s in decode(tags))
        return [sorted(spans, key=lambda s: (s.start, s.end)) for spans in results]

    def entities(self, text: str) -> list[dict]:
        """CCKS-shaped entities for one text, with the surface form."""
        return [
            {"start_pos": s.start, "end_pos": s.end, "label_type": CCKS_NAMES[s.label], "text": text[s.start : s.end]}
            for s in self.predict([text])[0]
        ]


def load_tagger(path: str | Path | None = None, **kwargs) -> Tagger:
    import keras

    from .context import open_context
    from .ensemble import member_configs
    from .model import build_model

    path = Path(path) if path else DEFAULT_MODEL
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: not a NER artifact (no config.json)")
    saved = json.loads((path / "config.json").read_text(encoding="utf-8"))
    config = from_dict(ModelConfig, saved["model"])
    train_config = from_dict(TrainConfig, saved.get("train", {}))
    featurizer = Featurizer.load(path / "vocab.json", config)
    featurizer.context = open_context(config.context, layers=config.context_layers)
    models = []
    for member, weights in member_configs(saved):  # one entry, or an ensemble's members
        model = build_model(member, n_chars=len(featurizer.chars), n_bigrams=len(featurizer.bigrams), lex_width=featurizer.lex_width)
        model.load_weights(str(path / weights))
        models.append(model)
    kwargs.setdefault("window", train_config.predict_window)
    keras.config.disable_interactive_logging()
    return Tagger(models, featurizer, config, **kwargs)


def warm(tagger: Tagger) -> None:
    """Trace the graph once so the first real request does not pay for it."""
    tagger.predict(["患者因腹痛入院。"])
