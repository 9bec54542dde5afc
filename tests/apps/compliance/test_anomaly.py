"""The autoencoder with a planted outlier: tiny, fast training on generated days."""

import datetime
import random

import pytest

from ml.access_anomaly.config import AutoencoderConfig
from ml.access_anomaly.data import FEATURE_NAMES, AccessRecord, daily_features
from ml.access_anomaly.serving import detect

TINY = AutoencoderConfig(epochs=25, hidden_units=6, code_units=2, robust_z_threshold=6.0)


def _ordinary_days(rng, users=30, days=7):
    base = datetime.datetime(2026, 11, 2, 8, 0)
    for user in range(1, users + 1):
        for day in range(days):
            for n in range(rng.randint(15, 25)):
                moment = base + datetime.timedelta(days=day, minutes=rng.randint(0, 9 * 60))
                yield AccessRecord(actor_id=user, role="doctor", occurred_at=moment, action="patient.read",
                                   patient_id=rng.randint(1, 40) + user * 100, ip="10.0.0.%d" % user)


def _snooping_day(user=99):
    """Hundreds of different patients at night from several addresses."""
    night = datetime.datetime(2026, 11, 5, 1, 0)
    return [AccessRecord(actor_id=user, role="doctor", occurred_at=night + datetime.timedelta(seconds=20 * n),
                         action="patient.read", patient_id=50_000 + n, ip=f"10.9.{n % 5}.1") for n in range(300)]


def test_features_count_what_a_day_holds():
    keys, roles, matrix = daily_features(_snooping_day())
    row = dict(zip(FEATURE_NAMES, matrix[0]))
    assert keys == [(99, datetime.date(2026, 11, 5))] and roles == ["doctor"]
    assert (row["events"], row["distinct_patients"], row["night_events"], row["distinct_ips"]) == (300, 300, 300, 5)


def test_the_planted_snooper_is_flagged_with_its_drivers():
    pytest.importorskip("keras")
    rng = random.Random(3)
    records = list(_ordinary_days(rng)) + _snooping_day()
    flags = detect(records, TINY)
    assert [(flag.actor_id, flag.day) for flag in flags][:1] == [(99, datetime.date(2026, 11, 5))]
    assert {driver["feature"] for driver in flags[0].drivers} & {"distinct_patients", "night_events",
                                                                 "off_hours_share", "record_reads", "events"}
    # ordinary days are not flagged
    assert all(flag.actor_id == 99 for flag in flags)
