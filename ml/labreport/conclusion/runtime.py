"""TensorFlow process settings shared by training and serving."""

from ml.keras_io import limit_threads  # noqa: F401
