"""Updating a trend model on new data without forgetting what it learned.

1. Analyse: the current model's loss and accuracy on the new rows (a held-out
   share of them) and on the old validation rows.
2. Fine-tune a copy, starting from the current weights, on the new rows mixed with
   a random sample of old rows (rehearsal), with a penalty pulling each weight back
   towards its current value (EWC: weighted by how much the old data depend on it),
   stopping early on held-out new and old rows. The scaler is kept.
3. Gate: keep the copy only if its loss on the old validation rows is at most
   (1 + max_degradation) times the current model's and its loss on the held-out new
   rows is lower than the current model's. Otherwise the current model stays.
"""

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from ml.keras_io import limit_threads

from .config import UpdateConfig
from .data import check_xy
from .evaluate import binary_metrics
from .model import AnchorPenalty, TrendModel, build_network, dense_layer_names, new_version
from .train import compile_network, fit_network

ACCEPTED = "accepted"
TOO_LITTLE_DATA = "too_little_data"
OLD_DEGRADED = "old_validation_degraded"
NO_GAIN = "no_gain_on_new_data"


@dataclass(frozen=True)
class UpdateReport:
    accepted: bool
    reason: str              # ACCEPTED, TOO_LITTLE_DATA, OLD_DEGRADED or NO_GAIN
    message: str
    from_version: str
    to_version: str | None   # the new model's version when accepted
    new_rows: int
    fit_rows: int            # new rows trained on
    rehearsal_rows: int      # old rows trained on alongside them
    check_rows: int          # new rows held out to measure the gain
    old_validation_rows: int
    old_loss_before: float
    old_loss_after: float | None
    new_loss_before: float
    new_loss_after: float | None
    old_accuracy_before: float
    old_accuracy_after: float | None
    new_accuracy_before: float
    new_accuracy_after: float | None
    old_degradation: float | None  # relative change of the old validation loss
    max_degradation: float
    anchor: str
    epochs_run: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def fisher_importance(network, X_scaled: np.ndarray, y: np.ndarray, layer_names: list[str]) -> dict:
    """Diagonal empirical Fisher information of each weight on (X, y): the mean
    squared per-row gradient of the loss. Normalised to mean 1 over all weights."""
    import tensorflow as tf

    variables = [v for name in layer_names for v in (network.get_layer(name).kernel, network.get_layer(name).bias)]
    inputs = tf.constant(X_scaled)
    labels = tf.constant(y.reshape(-1, 1))
    with tf.GradientTape() as tape:
        p = tf.clip_by_value(network(inputs, training=False), 1e-7, 1 - 1e-7)
        losses = -(labels * tf.math.log(p) + (1 - labels) * tf.math.log(1 - p))[:, 0]
    jacobians = tape.jacobian(losses, variables)
    fisher = [np.mean(np.square(np.asarray(j)), axis=0) for j in jacobians]
    scale = float(np.mean(np.concatenate([f.reshape(-1) for f in fisher]))) or 1.0
    fisher = [f / scale for f in fisher]
    return {name: (fisher[2 * i], fisher[2 * i + 1]) for i, name in enumerate(layer_names)}


def _anchors(model: TrendModel, X_old_scaled, y_old, config: UpdateConfig) -> dict:
    names = dense_layer_names(model.config)
    if config.anchor == "none":
        return {}
    if config.anchor == "ewc":
        importance = fisher_importance(model.network, X_old_scaled, y_old, names)
    else:
        importance = {name: (np.ones(model.network.get_layer(name).kernel.shape),
                             np.ones(model.network.get_layer(name).bias.shape)) for name in names}
    anchors = {}
    for name in names:
        layer = model.network.get_layer(name)
        kernel_importance, bias_importance = importance[name]
        anchors[name] = (AnchorPenalty(np.asarray(layer.kernel), kernel_importance, config.anchor_strength),
                         AnchorPenalty(np.asarray(layer.bias), bias_importance, config.anchor_strength))
    return anchors


def _split(n: int, fractions: tuple, rng) -> list[np.ndarray]:
    order = rng.permutation(n)
    sizes = [max(1, int(round(f * n))) for f in fractions]
    parts, at = [], 0
    for size in sizes:
        parts.append(order[at:at + size])
        at += size
    return parts + [order[at:]]


def incremental_update(model: TrendModel, new_X, new_y, *, rehearsal: tuple, old_val: tuple,
                       max_degradation: float = 0.02, config: UpdateConfig = UpdateConfig(),
                       seed: int = 0) -> tuple[TrendModel, UpdateReport]:
    """(the updated model, or `model` itself when the update is refused; the report).
    `rehearsal`: (X, y) of old training rows; `old_val`: (X, y) of old validation
    rows, never trained on here."""
    import keras

    if config.anchor not in ("ewc", "l2", "none"):
        raise ValueError(f"anchor must be 'ewc', 'l2' or 'none', not {config.anchor!r}")
    if max_degradation < 0:
        raise ValueError("max_degradation must not be negative")
    started = time.perf_counter()
    new_X, new_y = check_xy(new_X, new_y, name="new_X")
    old_X, old_y = check_xy(*rehearsal, name="rehearsal X")
    val_X, val_y = check_xy(*old_val, name="old_val X")
    if not len(old_X) or not len(val_X):
        raise ValueError("rehearsal and old validation data must not be empty")
    rng = np.random.default_rng(seed)

    old_before = binary_metrics(val_y, model.predict(val_X))
    stop, check, fit = _split(len(new_X), (config.stop_fraction, config.check_fraction), rng)
    if len(new_X) < config.min_new_rows or not len(fit):
        new_before = binary_metrics(new_y, model.predict(new_X)) if len(new_X) else None
        return model, UpdateReport(
            accepted=False, reason=TOO_LITTLE_DATA,
            message=f"{len(new_X)} new rows; at least {config.min_new_rows} are needed to update",
            from_version=model.version, to_version=None, new_rows=len(new_X), fit_rows=0, rehearsal_rows=0,
            check_rows=0, old_validation_rows=len(val_X), old_loss_before=old_before["log_loss"],
            old_loss_after=None, new_loss_before=new_before["log_loss"] if new_before else math.nan,
            new_loss_after=None, old_accuracy_before=old_before["accuracy"], old_accuracy_after=None,
            new_accuracy_before=new_before["accuracy"] if new_before else math.nan, new_accuracy_after=None,
            old_degradation=None, max_degradation=max_degradation, anchor=config.anchor, epochs_run=0,
            seconds=round(time.perf_counter() - started, 2))
    new_before = binary_metrics(new_y[check], model.predict(new_X[check]))

    old_order = rng.permutation(len(old_X))
    n_rehearse = min(len(old_X), math.ceil(config.rehearsal_ratio * len(fit)))
    rehearse = old_order[:n_rehearse]
    # old rows to stop on: unused ones when there are enough, else the rehearsed
    spare = old_order[n_rehearse:]
    n_stop_old = math.ceil(config.rehearsal_ratio * len(stop))
    stop_old = spare[:n_stop_old] if len(spare) >= n_stop_old else old_order[:n_stop_old]

    limit_threads()
    keras.utils.set_random_seed(seed)
    scale = model.scaler.transform
    fisher_rows = old_order[:min(len(old_X), config.fisher_rows)]
    anchors = _anchors(model, scale(old_X[fisher_rows]), old_y[fisher_rows], config)
    candidate_network = build_network(model.config, anchors)
    candidate_network.set_weights(model.network.get_weights())
    compile_network(candidate_network, config.learning_rate)
    X_fit = scale(np.concatenate([new_X[fit], old_X[rehearse]]))
    y_fit = np.concatenate([new_y[fit], old_y[rehearse]])
    X_stop = scale(np.concatenate([new_X[stop], old_X[stop_old]]))
    y_stop = np.concatenate([new_y[stop], old_y[stop_old]])
    run = fit_network(candidate_network, X_fit, y_fit, X_stop, y_stop, epochs=config.max_epochs,
                      batch_size=config.batch_size, patience=config.patience)
    # serve without the penalty: same weights in a plain network
    network = build_network(model.config)
    network.set_weights(candidate_network.get_weights())
    candidate = TrendModel(network, model.scaler, model.config, version=new_version(),
                           parent_version=model.version)

    old_after = binary_metrics(val_y, candidate.predict(val_X))
    new_after = binary_metrics(new_y[check], candidate.predict(new_X[check]))
    degradation = old_after["log_loss"] / old_before["log_loss"] - 1.0
    if degradation > max_degradation:
        reason = OLD_DEGRADED
        message = (f"loss on old validation data would rise by {degradation:.1%} "
                   f"(bound {max_degradation:.1%}); the current model stays")
    elif new_after["log_loss"] >= new_before["log_loss"]:
        reason = NO_GAIN
        message = (f"loss on held-out new data would not fall ({new_before['log_loss']:.4f} -> "
                   f"{new_after['log_loss']:.4f}); the current model stays")
    else:
        reason = ACCEPTED
        message = (f"loss on held-out new data {new_before['log_loss']:.4f} -> {new_after['log_loss']:.4f}, "
                   f"on old validation data {degradation:+.1%} (bound {max_degradation:.1%})")
    accepted = reason == ACCEPTED
    report = UpdateReport(
        accepted=accepted, reason=reason, message=message, from_version=model.version,
        to_version=candidate.version if accepted else None, new_rows=len(new_X), fit_rows=len(fit),
        rehearsal_rows=int(n_rehearse), check_rows=len(check), old_validation_rows=len(val_X),
        old_loss_before=old_before["log_loss"], old_loss_after=old_after["log_loss"],
        new_loss_before=new_before["log_loss"], new_loss_after=new_after["log_loss"],
        old_accuracy_before=old_before["accuracy"], old_accuracy_after=old_after["accuracy"],
        new_accuracy_before=new_before["accuracy"], new_accuracy_after=new_after["accuracy"],
        old_degradation=degradation, max_degradation=max_degradation, anchor=config.anchor,
        epochs_run=run["epochs_run"], seconds=round(time.perf_counter() - started, 2))
    if not accepted:
        return model, report
    candidate.metrics = {"validation": old_after, "new_data_check": new_after}
    candidate.training = {**model.training, "update": {k: v for k, v in report.to_dict().items()
                                                       if k not in ("message",)}}
    return candidate, report
