"""Training a trend model from scratch: the scaler is fitted on the training rows,
a seeded share of them is held out, and training stops when the held-out loss has
not improved for `patience` epochs (the best weights are kept)."""

import time

import numpy as np

from ml.keras_io import limit_threads

from .config import TrendConfig
from .data import Scaler, check_xy
from .evaluate import binary_metrics
from .model import TrendModel, build_network

MIN_ROWS = 20


def compile_network(network, learning_rate: float) -> None:
    import keras

    network.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")


def fit_network(network, X_fit, y_fit, X_stop, y_stop, *, epochs: int, batch_size: int, patience: int) -> dict:
    """Fit with early stopping on (X_stop, y_stop); the best epoch's weights stay."""
    import keras

    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    history = network.fit(X_fit, y_fit, validation_data=(X_stop, y_stop), epochs=epochs,
                          batch_size=min(batch_size, len(X_fit)), shuffle=True, verbose=0, callbacks=[stopper])
    losses = history.history["val_loss"]
    best = int(np.argmin(losses))
    return {"epochs_run": len(losses), "best_epoch": best + 1, "best_stop_loss": float(losses[best]),
            "converged": len(losses) < epochs}


def train_model(X, y, *, seed: int, config: TrendConfig = TrendConfig(), version: str | None = None) -> TrendModel:
    """A new model from raw feature rows X (see `build_dataset`) and 0/1 labels y."""
    import keras

    X, y = check_xy(X, y)
    if len(X) < MIN_ROWS:
        raise ValueError(f"{len(X)} rows are too few to train on (at least {MIN_ROWS})")
    if y.min() == y.max():
        raise ValueError("the labels are all the same: nothing to learn")
    started = time.perf_counter()
    limit_threads()
    keras.utils.set_random_seed(seed)
    scaler = Scaler.fit(X)
    scaled = scaler.transform(X)
    order = np.random.default_rng(seed).permutation(len(X))
    held = max(1, int(round(config.validation_fraction * len(X))))
    stop, fit = order[:held], order[held:]
    network = build_network(config)
    compile_network(network, config.learning_rate)
    run = fit_network(network, scaled[fit], y[fit], scaled[stop], y[stop], epochs=config.max_epochs,
                      batch_size=config.batch_size, patience=config.patience)
    model = TrendModel(network, scaler, config, version=version)
    model.metrics = {"validation": binary_metrics(y[stop], model.predict(X[stop]))}
    model.training = {"rows": int(len(X)), "fit_rows": int(len(fit)), "validation_rows": int(len(stop)),
                      "positive_rate": float(y.mean()), "seed": seed, **run,
                      "seconds": round(time.perf_counter() - started, 2)}
    return model
