"""Scoring user-days and explaining flags."""

from dataclasses import dataclass

import numpy as np

from .config import AutoencoderConfig
from .data import FEATURE_NAMES, daily_features, robust_z
from .train import fit


@dataclass(frozen=True)
class Flag:
    actor_id: int
    day: object
    role: str
    error: float
    robust_z: float
    drivers: list  # [{"feature", "value", "peer_median", "contribution"}], biggest first


def reconstruction_errors(model, scaler, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(per-row mean squared error, per-row per-feature squared error)."""
    features = scaler.transform(raw)
    rebuilt = np.asarray(model.predict(features, batch_size=4096, verbose=0))
    squared = (features - rebuilt) ** 2
    return squared.mean(axis=1), squared


def flag_outliers(keys, roles, raw, errors, squared, config: AutoencoderConfig) -> list[Flag]:
    """Flag user-days whose error is far above their peers' (same role)."""
    flags = []
    roles_array = np.array(roles)
    for role in sorted(set(roles)):
        rows = np.flatnonzero(roles_array == role)
        if len(rows) < 5:
            continue  # too few peers to say what is usual
        # On log(error + the peers' median error): errors are heavy-tailed and most
        # days reconstruct almost perfectly, so the MAD of raw errors is tiny (any
        # slightly unusual day would be flagged) and the log of raw errors spreads the
        # near-zero ones out (hiding a real outlier). Adding the median damps both.
        peer_errors = errors[rows]
        z = robust_z(np.log(peer_errors + float(np.median(peer_errors))))
        medians = np.median(raw[rows], axis=0)
        for position in np.flatnonzero(z >= config.robust_z_threshold):
            row = rows[position]
            order = np.argsort(squared[row])[::-1][:config.evidence_features]
            total = float(squared[row].sum()) or 1.0
            drivers = [{"feature": FEATURE_NAMES[i], "value": round(float(raw[row, i]), 3),
                        "peer_median": round(float(medians[i]), 3),
                        "contribution": round(float(squared[row, i]) / total, 3)} for i in order]
            actor_id, day = keys[row]
            flags.append(Flag(actor_id, day, role, float(errors[row]), float(z[position]), drivers))
    return sorted(flags, key=lambda flag: -flag.robust_z)


def detect(records, config: AutoencoderConfig = AutoencoderConfig()) -> list[Flag]:
    """Fit on the records' user-days and flag the outliers among them."""
    keys, roles, raw = daily_features(records, work_start_hour=config.work_start_hour,
                                      work_end_hour=config.work_end_hour)
    if len(keys) < 10:
        return []
    model, scaler = fit(raw, config)
    errors, squared = reconstruction_errors(model, scaler, raw)
    return flag_outliers(keys, roles, raw, errors, squared, config)
