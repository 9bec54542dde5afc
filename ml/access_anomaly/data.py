"""Per-user daily access features from access records."""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

FEATURE_NAMES = (
    "events",              # everything the user did that day
    "distinct_patients",   # patients whose records were opened or listed
    "record_reads",        # single-record reads
    "listed_rows",         # rows shown in list pages
    "exports",             # data leaving (exports, shares)
    "refused",             # denied / not found / invalid
    "off_hours_share",     # share of events outside working hours
    "night_events",        # events between 00:00 and 05:00
    "distinct_ips",
    "distinct_actions",
)
COUNT_FEATURES = frozenset(name for name in FEATURE_NAMES if not name.endswith("_share"))


@dataclass(frozen=True)
class AccessRecord:
    actor_id: int
    role: str
    occurred_at: datetime  # local time (hospital's time zone)
    action: str
    outcome: str = "success"
    patient_id: int | None = None
    listed_patient_ids: tuple = ()
    ip: str | None = None
    egress: bool = False


@dataclass
class _Day:
    role: str = ""
    events: int = 0
    patients: set = field(default_factory=set)
    reads: int = 0
    listed: int = 0
    exports: int = 0
    refused: int = 0
    off_hours: int = 0
    night: int = 0
    ips: set = field(default_factory=set)
    actions: set = field(default_factory=set)


def daily_features(records, *, work_start_hour: int = 7, work_end_hour: int = 20):
    """Returns (keys, roles, matrix): keys are (actor_id, date), matrix rows the raw
    (untransformed) FEATURE_NAMES values."""
    days: dict[tuple[int, date], _Day] = defaultdict(_Day)
    for record in records:
        day = days[(record.actor_id, record.occurred_at.date())]
        day.role = record.role
        day.events += 1
        if record.patient_id is not None:
            day.patients.add(record.patient_id)
            if record.action.endswith(".read"):
                day.reads += 1
        if record.listed_patient_ids:
            day.patients.update(record.listed_patient_ids)
            day.listed += len(record.listed_patient_ids)
        day.exports += int(record.egress)
        day.refused += int(record.outcome != "success")
        hour = record.occurred_at.hour
        day.off_hours += int(not work_start_hour <= hour < work_end_hour)
        day.night += int(hour < 5)
        if record.ip:
            day.ips.add(record.ip)
        day.actions.add(record.action)
    keys = sorted(days)
    matrix = np.array([[d.events, len(d.patients), d.reads, d.listed, d.exports, d.refused,
                        d.off_hours / d.events, d.night, len(d.ips), len(d.actions)]
                       for d in (days[k] for k in keys)], dtype="float64").reshape(len(keys), len(FEATURE_NAMES))
    return keys, [days[k].role for k in keys], matrix


@dataclass(frozen=True)
class Scaler:
    """log1p on counts (heavy tails), then standardise per column."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, raw: np.ndarray) -> "Scaler":
        logged = _log_counts(raw)
        std = logged.std(axis=0)
        return cls(mean=logged.mean(axis=0), std=np.where(std < 1e-6, 1.0, std))

    def transform(self, raw: np.ndarray) -> np.ndarray:
        return ((_log_counts(raw) - self.mean) / self.std).astype("float32")


def _log_counts(raw: np.ndarray) -> np.ndarray:
    out = raw.astype("float64").copy()
    for index, name in enumerate(FEATURE_NAMES):
        if name in COUNT_FEATURES:
            out[:, index] = np.log1p(out[:, index])
    return out


def robust_z(values: np.ndarray) -> np.ndarray:
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median))) * 1.4826
    scale = mad if mad > 1e-9 else max(float(np.std(values)), 1e-9)
    return (values - median) / scale


def is_finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))
