"""Standard binary metrics of the trend prediction, computed strictly (no library)."""

import numpy as np

from .data import check_xy

EPSILON = 1e-7


def auroc(y, p) -> float | None:
    """Area under the ROC curve: the probability that a random rising case-period
    scores above a random non-rising one (ties count half). None with one class."""
    y = np.asarray(y, dtype="float64").reshape(-1)
    p = np.asarray(p, dtype="float64").reshape(-1)
    positives = int((y == 1).sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = p[order]
    # average ranks over ties (1-based)
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_p)) + 1]
    ends = np.r_[starts[1:], len(p)]
    for start, end in zip(starts, ends):
        ranks[order[start:end]] = (start + end + 1) / 2
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def log_loss(y, p) -> float:
    y = np.asarray(y, dtype="float64").reshape(-1)
    p = np.clip(np.asarray(p, dtype="float64").reshape(-1), EPSILON, 1 - EPSILON)
    if not len(y):
        raise ValueError("no rows to score")
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def binary_metrics(y, p, *, threshold: float = 0.5) -> dict:
    y = np.asarray(y, dtype="float64").reshape(-1)
    p = np.asarray(p, dtype="float64").reshape(-1)
    if len(y) != len(p):
        raise ValueError(f"{len(y)} labels for {len(p)} predictions")
    return {
        "rows": int(len(y)),
        "positive_rate": float(y.mean()),
        "accuracy": float(((p >= threshold) == (y == 1)).mean()),
        "auroc": auroc(y, p),
        "log_loss": log_loss(y, p),
        "brier": float(np.mean((p - y) ** 2)),
    }


def evaluate(model, X, y) -> dict:
    """The model's metrics on (X, y): rows, positive_rate, accuracy (at 0.5), auroc,
    log_loss, brier."""
    X, y = check_xy(X, y)
    return binary_metrics(y, model.predict(X))
