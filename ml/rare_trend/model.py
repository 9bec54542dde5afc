"""The trend network (a small MLP over the scaled features) and `TrendModel`, the
network with its scaler, configuration and provenance, saved as an artifact
directory:

    model.weights.h5   the weights
    manifest.json      format, feature spec, scaler, architecture, version, metrics
    MODEL_CARD.json    the same provenance for people and the model registry
"""

import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ml.artifacts import CARD_NAME

from .config import TrendConfig
from .data import FEATURE_NAMES, N_FEATURES, Scaler, check_xy

FORMAT = "ml.rare_trend/1"
MANIFEST_NAME = "manifest.json"
WEIGHTS_NAME = "model.weights.h5"
LABEL = ("1 when a case's access (clicks plus downloads, citations, forwards and shares) in the next period "
         "exceeds its average access over the feature window")


class AnchorPenalty:
    """strength * sum(importance * (weight - anchor)^2): keeps a fine-tuned weight
    near the weight it had, the more so the more the old data depended on it."""

    def __init__(self, anchor, importance, strength: float):
        self.anchor = np.asarray(anchor, dtype="float32")
        self.importance = np.asarray(importance, dtype="float32")
        self.strength = float(strength)

    def __call__(self, weight):
        from keras import ops

        return self.strength * ops.sum(self.importance * ops.square(weight - self.anchor))


def dense_layer_names(config: TrendConfig) -> list[str]:
    return [f"hidden_{i}" for i in range(len(config.hidden_units))] + ["rise"]


def build_network(config: TrendConfig, anchors: dict | None = None):
    """features -> Dense(relu)... -> Dense(1, sigmoid). `anchors` maps a layer name
    to (kernel penalty, bias penalty)."""
    import keras

    anchors = anchors or {}
    inputs = keras.Input((N_FEATURES,), name="features")
    x = inputs
    sizes = list(config.hidden_units) + [1]
    for name, units in zip(dense_layer_names(config), sizes):
        kernel_penalty, bias_penalty = anchors.get(name, (None, None))
        x = keras.layers.Dense(units, activation="sigmoid" if name == "rise" else "relu", name=name,
                               kernel_regularizer=kernel_penalty, bias_regularizer=bias_penalty)(x)
    return keras.Model(inputs, x, name="rare_trend")


def new_version() -> str:
    return datetime.now(timezone.utc).strftime("%Y.%m.%d-%H%M%S.%f")


class TrendModel:
    def __init__(self, network, scaler: Scaler, config: TrendConfig, *, version: str | None = None,
                 parent_version: str | None = None, metrics: dict | None = None, training: dict | None = None):
        self.network = network
        self.scaler = scaler
        self.config = config
        self.version = version or new_version()
        self.parent_version = parent_version
        self.metrics = metrics or {}
        self.training = training or {}
        self._layers = None

    def __repr__(self) -> str:
        return f"<TrendModel {self.version}>"

    def predict(self, X) -> np.ndarray:
        """Probability that access rises in the next period, per row of raw features.

        The forward pass runs in NumPy on the network's weights (read once: a
        TrendModel's network is not trained further): for a network this small a
        TensorFlow call costs far more than the arithmetic, case by case."""
        X = check_xy(X)
        if self._layers is None:
            self._layers = [(np.asarray(layer.kernel, dtype="float32"), np.asarray(layer.bias, dtype="float32"))
                            for layer in (self.network.get_layer(name) for name in dense_layer_names(self.config))]
        x = self.scaler.transform(X)
        for kernel, bias in self._layers[:-1]:
            x = np.maximum(x @ kernel + bias, 0.0)
        kernel, bias = self._layers[-1]
        logits = (x @ kernel + bias).reshape(-1).astype("float64")
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))

    def manifest(self) -> dict:
        return {
            "format": FORMAT,
            "family": "ml.rare_trend",
            "version": self.version,
            "parent_version": self.parent_version,
            "features": list(FEATURE_NAMES),
            "window": self.config.window,
            "label": LABEL,
            "scaler": self.scaler.to_dict(),
            "config": {**asdict(self.config), "hidden_units": list(self.config.hidden_units)},
            "metrics": self.metrics,
            "training": self.training,
        }

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.network.save_weights(str(directory / WEIGHTS_NAME))
        manifest = self.manifest()
        (directory / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        card = {
            "family": manifest["family"], "model": "mlp", "version": self.version,
            "parent_version": self.parent_version,
            "task": "Access trend of rare cases: probability that a case's access rises in the next period",
            "inputs": manifest["features"], "label": LABEL, "metrics": self.metrics, "training": self.training,
            "intended_use": "The prediction index in rare-case sharing decisions (docs/rare_trend.md); "
                            "the artifact holds weights and feature statistics, no case data.",
        }
        (directory / CARD_NAME).write_text(json.dumps(card, indent=1, ensure_ascii=False), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "TrendModel":
        directory = Path(directory)
        manifest_path = directory / MANIFEST_NAME
        if not manifest_path.is_file() or not (directory / WEIGHTS_NAME).is_file():
            raise FileNotFoundError(f"{directory}: not a rare-trend artifact (needs {MANIFEST_NAME} and {WEIGHTS_NAME})")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{directory}: format {manifest.get('format')!r}, expected {FORMAT!r}")
        if tuple(manifest["features"]) != FEATURE_NAMES:
            raise ValueError(f"{directory}: built for features {manifest['features']}, this code has "
                             f"{list(FEATURE_NAMES)}")
        saved = dict(manifest["config"])
        saved["hidden_units"] = tuple(saved["hidden_units"])
        config = TrendConfig(**saved)
        network = build_network(config)
        network.load_weights(str(directory / WEIGHTS_NAME))
        return cls(network, Scaler.from_dict(manifest["scaler"]), config, version=manifest["version"],
                   parent_version=manifest.get("parent_version"), metrics=manifest.get("metrics", {}),
                   training=manifest.get("training", {}))
