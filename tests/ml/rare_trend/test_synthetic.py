"""The generated history has the dynamics it promises."""

import numpy as np

from ml.rare_trend import build_dataset, generate_access_history
from ml.rare_trend.data import FEATURE_NAMES


def test_same_seed_same_history():
    first = generate_access_history(50, 12, seed=9, drift_at=6)
    second = generate_access_history(50, 12, seed=9, drift_at=6)
    np.testing.assert_array_equal(first.counts, second.counts)
    np.testing.assert_array_equal(first.propagation, second.propagation)
    assert not np.array_equal(first.counts, generate_access_history(50, 12, seed=10, drift_at=6).counts)


def test_broadcasts_appear_only_after_the_drift():
    # a broadcast: many shares, almost no forwards, in one period
    history = generate_access_history(400, 20, seed=2, drift_at=10)
    forwards, shares = history.usage[:, :, 2], history.usage[:, :, 3]
    broadcast = (shares >= 15) & (forwards <= 2)
    assert broadcast[:, :10].sum() == 0
    assert broadcast[:, 10:].mean() > 0.05
    # and every period with transmissions has a propagation index, none without
    assert ((history.propagation > 0) == (forwards + shares > 0)).all()


def test_cascades_lead_to_rises_before_the_drift_and_broadcasts_to_falls_after():
    history = generate_access_history(600, 24, seed=3, drift_at=12)
    X, y = build_dataset(history)
    forwards, shares = X[:, FEATURE_NAMES.index("forwards_last")], X[:, FEATURE_NAMES.index("shares_last")]
    cascade = forwards >= 5
    broadcast = (shares >= 15) & (forwards <= 2)
    assert y[cascade].mean() > 0.7
    assert y[broadcast].mean() < 0.2
    assert 0.3 < y.mean() < 0.55
