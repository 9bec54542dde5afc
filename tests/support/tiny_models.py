"""Small real Keras models for registry and serving tests: trained here in seconds on
synthetic data with a known rule, so their predictions are meaningful, not constant."""

from pathlib import Path

import numpy as np


def synthetic_points(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points in the unit square, labelled 1 above the diagonal."""
    rng = np.random.default_rng(seed)
    points = rng.random((count, 2)).astype("float32")
    return points, (points[:, 1] > points[:, 0]).astype("float32")


def train_tiny_classifier(path: Path, *, seed: int, epochs: int, hidden: int = 8) -> Path:
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(hidden, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    features, labels = synthetic_points(512, seed)
    model.fit(features, labels, epochs=epochs, batch_size=64, verbose=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path


def predict_labels(model, points) -> list[int]:
    return [int(p > 0.5) for p in model.predict(np.asarray(points, dtype="float32"), verbose=0)[:, 0]]


def agreement(first: list[int], second: list[int]) -> float:
    return sum(a == b for a, b in zip(first, second)) / max(len(first), 1)
