from dataclasses import dataclass

import numpy as np
import pytest

from ml.rare_trend import AccessHistory, build_dataset, generate_access_history


@dataclass
class Drifted:
    """A generated history with a regime change at period 22, and the first model
    trained on rows whose labels lie before it."""

    history: AccessHistory
    train: tuple
    validation: tuple
    new: tuple       # after the drift, propagation index >= 10
    held_out: tuple  # the last periods, every case
    model: object


@pytest.fixture(scope="session")
def drifted():
    pytest.importorskip("tensorflow")
    from ml.rare_trend import train_model

    history = generate_access_history(500, 36, seed=3, drift_at=22)
    X, y = build_dataset(history, periods=range(0, 21))
    order = np.random.default_rng(0).permutation(len(X))
    held = len(X) // 5
    validation = X[order[:held]], y[order[:held]]
    train = X[order[held:]], y[order[held:]]
    return Drifted(history, train, validation, build_dataset(history, periods=range(22, 30), min_propagation=10),
                   build_dataset(history, periods=range(30, 35)), train_model(*train, seed=1))
