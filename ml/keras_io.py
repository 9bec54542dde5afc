"""Loading and saving Keras models from a path (never from a hub)."""

from pathlib import Path


def load_keras_model(path: str | Path):
    import keras  # imported here: web processes never pay for TensorFlow

    return keras.saving.load_model(str(path), compile=False)


def limit_threads(intra: int = 1, inter: int = 1) -> None:
    """The workers share few cores: one thread per op is faster overall, and makes
    CPU training reproducible with a fixed seed. Call before any TF op."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError:
        pass  # already initialised in this process; the earlier setting stands
