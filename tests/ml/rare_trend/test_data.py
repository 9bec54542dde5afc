"""Features and trend labels from access histories."""

import numpy as np
import pytest

from ml.rare_trend import AccessHistory, FEATURE_NAMES, TrendFeatures, build_dataset
from ml.rare_trend.data import Scaler, check_xy


def _history(access_rows, propagation=None):
    """Cases whose only counts are clicks (so access == clicks)."""
    clicks = np.asarray(access_rows, dtype="float64")
    counts = np.zeros(clicks.shape + (5,))
    counts[:, :, 0] = clicks
    return AccessHistory(tuple(range(len(clicks))), counts,
                         np.zeros(clicks.shape) if propagation is None else np.asarray(propagation, dtype="float64"))


def test_labels_say_whether_next_access_beats_the_window_average():
    # given hand-made access series and a window of 2
    history = _history([[1, 1, 1, 5, 2], [4, 2, 3, 3, 0]])
    # when the dataset is built
    X, y, keys = build_dataset(history, window=2, with_keys=True)
    # then each label compares period t+1 with the mean of periods t-1..t (t alone at t=0)
    assert keys.tolist() == [[0, 0], [0, 1], [0, 2], [0, 3], [1, 0], [1, 1], [1, 2], [1, 3]]
    # case 0: 1 vs 1 no; 1 vs 1 no; 5 vs 1 yes; 2 vs 3 no. case 1: 2 vs 4 no; 3 vs 3 no; 3 vs 2.5 yes; 0 vs 3 no
    assert y.tolist() == [0, 0, 1, 0, 0, 0, 1, 0]
    # and the features are the window means and the period's own counts
    clicks_mean, clicks_last = FEATURE_NAMES.index("clicks_mean"), FEATURE_NAMES.index("clicks_last")
    assert X[:4, clicks_mean].tolist() == [1, 1, 1, 3]
    assert X[4:, clicks_mean].tolist() == [4, 3, 2.5, 3]
    assert X[:4, clicks_last].tolist() == [1, 1, 1, 5]


def test_usage_counts_towards_access():
    # given a case whose clicks stay flat but whose shares jump in the last period
    counts = np.zeros((1, 3, 5))
    counts[0, :, 0] = 2
    counts[0, 2, 4] = 3
    history = AccessHistory((7,), counts, np.zeros((1, 3)))
    # then access rose into period 2
    assert build_dataset(history, window=2)[1].tolist() == [0, 1]


def test_periods_and_propagation_select_rows():
    history = _history([[1, 2, 3, 4, 5]] * 2, propagation=[[0, 9, 0, 9, 9], [9, 0, 9, 0, 0]])
    X, y, keys = build_dataset(history, window=2, periods=range(1, 10), min_propagation=5, with_keys=True)
    # the last period has no next one, so it is never a row; the rest follow the filters
    assert keys.tolist() == [[0, 1], [0, 3], [1, 2]]
    assert X[:, FEATURE_NAMES.index("propagation")].tolist() == [9, 9, 9]


def test_trend_features_of_a_case_equal_its_dataset_row():
    # given a case's counts over six periods
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 20, (1, 6, 5)).astype("float64")
    history = AccessHistory(("case-a",), counts, np.full((1, 6), 2.5))
    X, _ = build_dataset(history, window=4)
    # when the app computes the features from the last periods' counts (dicts, oldest first)
    periods = [dict(zip(("clicks", "downloads", "citations", "forwards", "shares"), row)) for row in counts[0, :5]]
    features = TrendFeatures.from_periods(periods, propagation=2.5, window=4)
    # then they are the dataset's row for period 4
    np.testing.assert_allclose(features.vector(), X[4])
    assert TrendFeatures.from_vector(X[4]) == features
    assert set(features.as_dict()) == set(FEATURE_NAMES)


def test_a_new_case_averages_the_periods_it_has():
    features = TrendFeatures.from_periods([{"clicks": 4}, {"clicks": 2, "shares": 1}])
    assert (features.clicks_mean, features.shares_mean, features.clicks_last) == (3, 0.5, 2)


@pytest.mark.parametrize("periods, message", [
    ([], "at least one period"),
    ([{"clicks": 1, "likes": 2}], "unknown count kinds"),
    ([(1, 2, 3)], "expected 5"),
    ([{"clicks": -1}], "non-negative"),
    ([{"clicks": float("nan")}], "non-negative"),
])
def test_bad_counts_are_refused(periods, message):
    with pytest.raises(ValueError, match=message):
        TrendFeatures.from_periods(periods)


def test_history_from_rows_fills_gaps_and_round_trips(tmp_path):
    # given aggregated rows as the app reads them from its database (a gap at period 1)
    history = AccessHistory.from_rows([
        {"case_id": 11, "period": 0, "clicks": 3, "shares": 1, "propagation": 1.5},
        (12, 2, 5, 1, 0, 0, 0),
        {"case_id": 11, "period": 2, "clicks": 1},
    ], n_periods=4)
    # then missing case-periods are zero
    assert history.case_ids == (11, 12)
    assert history.clicks.tolist() == [[3, 0, 1, 0], [0, 0, 5, 0]]
    assert history.usage[0, 0].tolist() == [0, 0, 0, 1]
    assert history.propagation[0, 0] == 1.5
    # and it survives a save and load
    history.save(tmp_path / "history.npz")
    loaded = AccessHistory.load(tmp_path / "history.npz")
    np.testing.assert_array_equal(loaded.counts, history.counts)
    assert loaded.drift_at is None


@pytest.mark.parametrize("rows, n_periods, message", [
    ([(1, -1, 0, 0, 0, 0, 0)], None, "negative"),
    ([(1, 5, 0, 0, 0, 0, 0)], 3, "beyond"),
    ([(1, 0, 0)], None, "expected 7 or 8"),
    ([(1, 0, -2, 0, 0, 0, 0)], None, "non-negative"),
])
def test_bad_rows_are_refused(rows, n_periods, message):
    with pytest.raises(ValueError, match=message):
        AccessHistory.from_rows(rows, n_periods=n_periods)


def test_scaler_keeps_constant_columns_finite():
    X = np.zeros((10, len(FEATURE_NAMES)), dtype="float32")
    X[:, 0] = np.arange(10)
    scaled = Scaler.fit(X).transform(X)
    assert np.isfinite(scaled).all() and scaled[:, 1].tolist() == [0.0] * 10


def test_feature_matrices_are_checked():
    with pytest.raises(ValueError, match="shape"):
        check_xy(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="0 or 1"):
        check_xy(np.zeros((2, len(FEATURE_NAMES))), [0, 2])
