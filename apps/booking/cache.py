"""Remaining places of hot experts, cached in Redis (the shared cache).

The catalogue's slot list of an expert is cached under a key that carries the
expert's version; every change to one of its slots (booking, cancellation, offer,
capacity, publication, stop) bumps the version after the change commits. A reader
that raced the change may write its stale answer, but under the old version, which
no one reads again; the short timeout bounds memory, not correctness.

Only experts somebody actually looks at get an entry, and the busiest stay in
Redis: that is what "hot" means here, without a separate popularity counter.
"""

from django.core.cache import cache
from django.db import transaction

TIMEOUT_SECONDS = 60


def _version_key(expert_id: int) -> str:
    return f"booking:expert:{expert_id}:version"


def expert_version(expert_id: int) -> int:
    return cache.get(_version_key(expert_id)) or 0


def slots_cache_key(expert_id: int, version: int, date_from, date_to) -> str:
    return f"booking:expert:{expert_id}:v{version}:slots:{date_from}:{date_to}"


def expert_slots_changed(expert_id: int) -> None:
    """Invalidate the expert's cached counts once the current transaction commits."""

    def bump():
        try:
            cache.incr(_version_key(expert_id))
        except ValueError:  # no version yet: start one (a racing incr loses nothing)
            cache.add(_version_key(expert_id), 1, timeout=None)
            cache.incr(_version_key(expert_id))

    transaction.on_commit(bump)
