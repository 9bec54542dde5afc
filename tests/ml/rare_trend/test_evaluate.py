"""The metrics, against hand-computed values."""

import pytest

from ml.rare_trend import auroc, binary_metrics


def test_auroc_counts_ordered_pairs_and_half_ties():
    # pairs (positive, negative): (0.8, 0.1) yes, (0.8, 0.4) yes, (0.4, 0.1) yes, (0.4, 0.4) half -> 3.5 / 4
    assert auroc([1, 1, 0, 0], [0.8, 0.4, 0.4, 0.1]) == pytest.approx(0.875)
    assert auroc([1, 0], [0.2, 0.9]) == 0.0
    assert auroc([1, 1], [0.2, 0.9]) is None


def test_binary_metrics():
    metrics = binary_metrics([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6])
    assert metrics["accuracy"] == 0.5
    assert metrics["positive_rate"] == 0.5
    assert metrics["brier"] == pytest.approx((0.01 + 0.04 + 0.36 + 0.36) / 4)
    assert metrics["rows"] == 4
