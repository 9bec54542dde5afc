"""Access histories, per case-period features and trend labels.

A history holds, per case and period, the counts of clicks (views) and of each kind
of use (downloads, citations, forwards, shares) and the period's propagation index.
The features of case i at period t describe periods t-W+1..t; its label says whether
access (clicks plus uses) in period t+1 exceeded the average access of those periods.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .config import DEFAULT_WINDOW

USAGE_KINDS = ("downloads", "citations", "forwards", "shares")
COUNT_KINDS = ("clicks",) + USAGE_KINDS
FEATURE_NAMES = (tuple(f"{kind}_mean" for kind in COUNT_KINDS) + tuple(f"{kind}_last" for kind in COUNT_KINDS)
                 + ("propagation",))
N_FEATURES = len(FEATURE_NAMES)


@dataclass(frozen=True, eq=False)
class AccessHistory:
    """counts: (cases, periods, 5) non-negative, columns COUNT_KINDS.
    propagation: (cases, periods) non-negative propagation index per period.
    drift_at: the period where generated dynamics change (None for real data)."""

    case_ids: tuple
    counts: np.ndarray
    propagation: np.ndarray
    drift_at: int | None = None

    def __post_init__(self):
        counts = np.asarray(self.counts, dtype="float64")
        propagation = np.asarray(self.propagation, dtype="float64")
        if counts.ndim != 3 or counts.shape[2] != len(COUNT_KINDS):
            raise ValueError(f"counts must have shape (cases, periods, {len(COUNT_KINDS)}), not {counts.shape}")
        if propagation.shape != counts.shape[:2]:
            raise ValueError(f"propagation must have shape {counts.shape[:2]}, not {propagation.shape}")
        if len(self.case_ids) != counts.shape[0]:
            raise ValueError(f"{len(self.case_ids)} case ids for {counts.shape[0]} cases")
        for name, values in (("counts", counts), ("propagation", propagation)):
            if not np.isfinite(values).all() or (values < 0).any():
                raise ValueError(f"{name} must be finite and non-negative")
        object.__setattr__(self, "case_ids", tuple(self.case_ids))
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "propagation", propagation)

    @property
    def n_cases(self) -> int:
        return self.counts.shape[0]

    @property
    def n_periods(self) -> int:
        return self.counts.shape[1]

    @property
    def clicks(self) -> np.ndarray:
        return self.counts[:, :, 0]

    @property
    def usage(self) -> np.ndarray:
        """(cases, periods, 4): downloads, citations, forwards, shares."""
        return self.counts[:, :, 1:]

    @property
    def access(self) -> np.ndarray:
        """Clicks plus every use, per case and period."""
        return self.counts.sum(axis=2)

    @classmethod
    def from_rows(cls, rows, *, n_periods: int | None = None) -> "AccessHistory":
        """From (case_id, period, clicks, downloads, citations, forwards, shares
        [, propagation]) tuples or mappings with those keys; periods are 0-based
        indexes, missing case-periods count zero, a repeated case-period adds up."""
        parsed = []
        for row in rows:
            if isinstance(row, Mapping):
                values = (row["case_id"], row["period"], *(row.get(kind, 0) for kind in COUNT_KINDS),
                          row.get("propagation", 0.0))
            else:
                values = tuple(row)
                if len(values) not in (7, 8):
                    raise ValueError(f"a row has {len(values)} fields; expected 7 or 8")
                values += (0.0,) * (8 - len(values))
            period = int(values[1])
            if period < 0:
                raise ValueError(f"period {period} is negative")
            parsed.append((values[0], period, values[2:7], values[7]))
        case_ids = tuple(dict.fromkeys(case_id for case_id, *_ in parsed))
        index = {case_id: position for position, case_id in enumerate(case_ids)}
        periods = max([period + 1 for _, period, _, _ in parsed], default=0)
        if n_periods is not None:
            if periods > n_periods:
                raise ValueError(f"a row has period {periods - 1}, beyond n_periods={n_periods}")
            periods = n_periods
        counts = np.zeros((len(case_ids), periods, len(COUNT_KINDS)))
        propagation = np.zeros((len(case_ids), periods))
        for case_id, period, values, spread in parsed:
            counts[index[case_id], period] += np.asarray(values, dtype="float64")
            propagation[index[case_id], period] += float(spread)
        return cls(case_ids, counts, propagation)

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, case_ids=np.asarray([str(c) for c in self.case_ids]), counts=self.counts,
                            propagation=self.propagation, drift_at=-1 if self.drift_at is None else self.drift_at)

    @classmethod
    def load(cls, path: str | Path) -> "AccessHistory":
        with np.load(path) as saved:
            drift_at = int(saved["drift_at"])
            return cls(tuple(saved["case_ids"].tolist()), saved["counts"], saved["propagation"],
                       None if drift_at < 0 else drift_at)


def _window_means(counts: np.ndarray, window: int) -> np.ndarray:
    """Mean over the last `window` periods, or all periods so far when fewer."""
    cumulative = np.cumsum(counts, axis=1)
    shifted = np.zeros_like(cumulative)
    shifted[:, window:] = cumulative[:, :-window]
    seen = np.minimum(np.arange(1, counts.shape[1] + 1), window).reshape((1, -1) + (1,) * (counts.ndim - 2))
    return (cumulative - shifted) / seen


def feature_matrix(history: AccessHistory, *, window: int = DEFAULT_WINDOW) -> np.ndarray:
    """(cases, periods, N_FEATURES) raw features for every case-period."""
    if window < 1:
        raise ValueError("window must be at least 1")
    return np.concatenate([_window_means(history.counts, window), history.counts,
                           history.propagation[:, :, None]], axis=2)


def trend_labels(history: AccessHistory, *, window: int = DEFAULT_WINDOW) -> np.ndarray:
    """(cases, periods - 1): 1 where access in period t+1 exceeds the mean access of
    periods t-W+1..t (fewer at the start)."""
    access = history.access
    return (access[:, 1:] > _window_means(access, window)[:, :-1]).astype("float32")


def build_dataset(history: AccessHistory, *, window: int = DEFAULT_WINDOW, periods=None,
                  min_propagation: float | None = None, with_keys: bool = False):
    """(X, y) over case-periods t whose next period is in the history; `periods`
    restricts t (an iterable of period indexes), `min_propagation` keeps the rows whose
    propagation index at t is at least that. With `with_keys`, also (case index, t) rows."""
    if history.n_periods < 2:
        raise ValueError("a history needs at least two periods to have a label")
    chosen = np.arange(history.n_periods - 1)
    if periods is not None:
        wanted = np.asarray(sorted(set(int(p) for p in periods)), dtype="int64")
        chosen = wanted[(wanted >= 0) & (wanted < history.n_periods - 1)]
    features = feature_matrix(history, window=window)[:, chosen]
    labels = trend_labels(history, window=window)[:, chosen]
    case_index, period_index = np.meshgrid(np.arange(history.n_cases), chosen, indexing="ij")
    keep = np.ones(labels.shape, dtype=bool)
    if min_propagation is not None:
        keep = history.propagation[:, chosen] >= min_propagation
    X = features[keep].astype("float32")
    y = labels[keep].astype("float32")
    if with_keys:
        return X, y, np.stack([case_index[keep], period_index[keep]], axis=1)
    return X, y


@dataclass(frozen=True)
class TrendFeatures:
    """The inputs of one case at one period: average counts over the last W periods,
    the last period's counts and the propagation index (0 when not tracked)."""

    clicks_mean: float
    downloads_mean: float
    citations_mean: float
    forwards_mean: float
    shares_mean: float
    clicks_last: float
    downloads_last: float
    citations_last: float
    forwards_last: float
    shares_last: float
    propagation: float = 0.0

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite non-negative number, not {value!r}")

    @classmethod
    def from_periods(cls, periods: Sequence, *, propagation: float = 0.0,
                     window: int = DEFAULT_WINDOW) -> "TrendFeatures":
        """`periods`: the case's per-period counts, oldest first, each a mapping with
        keys from COUNT_KINDS (missing ones count 0) or a sequence in that order. The
        last `window` periods are used; fewer are averaged as they are."""
        if not periods:
            raise ValueError("at least one period of counts is needed")
        rows = []
        for period in list(periods)[-window:]:
            if isinstance(period, Mapping):
                unknown = set(period) - set(COUNT_KINDS)
                if unknown:
                    raise ValueError(f"unknown count kinds: {sorted(unknown)}")
                rows.append([period.get(kind, 0) for kind in COUNT_KINDS])
            else:
                if len(period) != len(COUNT_KINDS):
                    raise ValueError(f"a period has {len(period)} counts; expected {len(COUNT_KINDS)}")
                rows.append(list(period))
        counts = np.asarray(rows, dtype="float64")
        return cls(*(float(v) for v in counts.mean(axis=0)), *(float(v) for v in counts[-1]),
                   propagation=float(propagation))

    @classmethod
    def from_vector(cls, vector) -> "TrendFeatures":
        return cls(*(float(v) for v in np.asarray(vector).reshape(N_FEATURES)))

    def vector(self) -> np.ndarray:
        return np.asarray([getattr(self, name) for name in FEATURE_NAMES], dtype="float32")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Scaler:
    """log1p (counts are heavy-tailed), then standardise per column. Fitted once on
    the first training data and kept across incremental updates, so a weight means
    the same thing before and after an update."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> "Scaler":
        logged = np.log1p(np.asarray(X, dtype="float64"))
        std = logged.std(axis=0)
        return cls(mean=logged.mean(axis=0), std=np.where(std < 1e-6, 1.0, std))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return ((np.log1p(np.asarray(X, dtype="float64")) - self.mean) / self.std).astype("float32")

    def to_dict(self) -> dict:
        return {"transform": "log1p_standardise", "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, saved: dict) -> "Scaler":
        return cls(mean=np.asarray(saved["mean"], dtype="float64"), std=np.asarray(saved["std"], dtype="float64"))


def check_xy(X, y=None, *, name: str = "X"):
    """Raw feature matrices as float32 (n, N_FEATURES), labels as float32 0/1."""
    X = np.asarray(X, dtype="float32")
    if X.ndim != 2 or X.shape[1] != N_FEATURES:
        raise ValueError(f"{name} must have shape (rows, {N_FEATURES}), not {X.shape}")
    if not np.isfinite(X).all() or (X < 0).any():
        raise ValueError(f"{name} must be finite and non-negative")
    if y is None:
        return X
    y = np.asarray(y, dtype="float32").reshape(-1)
    if len(y) != len(X):
        raise ValueError(f"{len(y)} labels for {len(X)} rows of {name}")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    return X, y
