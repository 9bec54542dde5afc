"""Loading a trend artifact once and scoring cases.

    from apps.configuration.serving import model_pool
    model_pool.register_loader("rare_trend", load_trend_model)
    result = model_pool.run("rare_trend", features, predict=predict_index, compare=...)
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .data import N_FEATURES, TrendFeatures
from .model import TrendModel


def load_trend_model(path: str | Path) -> TrendModel:
    import keras

    keras.config.disable_interactive_logging()
    return TrendModel.load(path)


def _vector(features) -> np.ndarray:
    if isinstance(features, TrendFeatures):
        return features.vector()
    vector = np.asarray(features, dtype="float32").reshape(-1)
    if vector.shape != (N_FEATURES,):
        raise ValueError(f"a feature vector has {N_FEATURES} values, not {vector.size}")
    return vector


def predict_index(model: TrendModel, features) -> float:
    """The prediction index of one case: the probability, in [0, 1], that its access
    rises in the next period. `features`: a TrendFeatures or its raw vector."""
    return float(model.predict(_vector(features)[None, :])[0])


def predict_indexes(model: TrendModel, batch: Sequence) -> list[float]:
    """Prediction indexes of many cases in one call."""
    if not len(batch):
        return []
    return model.predict(np.stack([_vector(features) for features in batch])).tolist()
