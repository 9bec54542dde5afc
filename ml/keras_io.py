"""Loading and saving Keras models from a path (never from a hub)."""

from pathlib import Path


def load_keras_model(path: str | Path):
    import keras  # imported here: web processes never pay for TensorFlow

    return keras.saving.load_model(str(path), compile=False)
