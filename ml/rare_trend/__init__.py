"""Access-trend model of rare cases (issue 7, steps 5 and 6), without Django.

Per case and period: average clicks and uses over the last W periods, the last
period's counts and the propagation index -> the probability that access rises in
the next period (the "prediction index"). Incremental updates on new data keep
what the model learned (rehearsal, EWC anchor, a gate on old validation loss).
See docs/rare_trend.md. TensorFlow is imported only when a model is trained,
loaded or run."""

from .config import DEFAULT_WINDOW, HistoryDynamics, TrendConfig, UpdateConfig
from .data import COUNT_KINDS, FEATURE_NAMES, USAGE_KINDS, AccessHistory, TrendFeatures, build_dataset
from .evaluate import auroc, binary_metrics, evaluate
from .incremental import UpdateReport, incremental_update
from .model import TrendModel
from .propagation import PropagationSummary, TransmissionEvent, propagation_index, propagation_summary
from .serving import load_trend_model, predict_index, predict_indexes
from .synthetic import generate_access_history
from .train import train_model

__all__ = [
    "AccessHistory", "COUNT_KINDS", "DEFAULT_WINDOW", "FEATURE_NAMES", "HistoryDynamics", "PropagationSummary",
    "TransmissionEvent", "TrendConfig", "TrendFeatures", "TrendModel", "USAGE_KINDS", "UpdateConfig", "UpdateReport",
    "auroc", "binary_metrics", "build_dataset", "evaluate", "generate_access_history", "incremental_update",
    "load_trend_model", "predict_index", "predict_indexes", "propagation_index", "propagation_summary", "train_model",
]
