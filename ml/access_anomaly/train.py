import numpy as np

from ml.keras_io import limit_threads

from .config import AutoencoderConfig
from .data import Scaler
from .model import build_autoencoder


def fit(raw: np.ndarray, config: AutoencoderConfig):
    """Unsupervised: fit on every user-day (violations are rare, so the model learns
    what ordinary days look like). Returns (model, scaler)."""
    import keras

    limit_threads()
    keras.utils.set_random_seed(config.seed)
    scaler = Scaler.fit(raw)
    features = scaler.transform(raw)
    model = build_autoencoder(features.shape[1], config)
    model.fit(features, features, epochs=config.epochs, batch_size=min(config.batch_size, len(features)),
              shuffle=True, verbose=0)
    return model, scaler
