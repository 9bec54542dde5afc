"""Loading an access history (ml.rare_trend's generator, known dynamics) into the
registry's real tables: closed first periods before now and one CaseAccess row per
recorded view or use, forwards chained through their parents so the propagation
tracking has paths to follow."""

import datetime
import random

from django.utils import timezone

from apps.rarecases.models import AccessPeriod, CaseAccess

KINDS = ("view", "download", "citation", "forward", "share")


def load_access_history(entries, history, *, periods=None, period_hours: float = 24.0, seed: int = 0,
                        cap: int = 40, now=None) -> list[AccessPeriod]:
    """Write `history` (cases x periods x 5 counts; row i -> entries[i]) into
    `periods`, or into new closed periods ending at `now` (each count capped at
    `cap` to keep tests small). Returns the periods."""
    rng = random.Random(seed)
    if periods is None:
        now = now or timezone.now()
        length = datetime.timedelta(hours=period_hours)
        start = now - history.n_periods * length
        number = (AccessPeriod.objects.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        periods = [AccessPeriod.objects.create(number=number + t, starts_at=start + t * length,
                                               ends_at=start + (t + 1) * length, length_days=period_hours / 24)
                   for t in range(history.n_periods)]
    rows = []
    for i, entry in enumerate(entries):
        for t, period in enumerate(periods):
            forwards = []
            for k, kind in enumerate(KINDS):
                for _ in range(min(int(history.counts[i, t, k]), cap)):
                    span = (period.ends_at - period.starts_at).total_seconds()
                    at = period.starts_at + datetime.timedelta(seconds=rng.uniform(1, span - 1))
                    parent = rng.choice(forwards) if kind in ("forward", "share") and forwards and rng.random() < 0.6 \
                        else None
                    recipient = (f"user:{rng.randrange(10_000)}" if kind in ("forward", "download")
                                 else f"partner:{rng.randrange(5)}" if kind == "share" else "")
                    access = CaseAccess(entry=entry, kind=kind, parent=parent, recipient=recipient, occurred_at=at,
                                        channel="history")
                    if kind == "forward":
                        forwards.append(access)
                    rows.append(access)
    # parents first: the parent of a forward is an earlier-created forward
    CaseAccess.objects.bulk_create(rows, batch_size=2000)
    return periods


def history_slice(history, start: int, stop: int):
    """Periods start..stop-1 of a generated history."""
    from ml.rare_trend import AccessHistory

    return AccessHistory(history.case_ids, history.counts[:, start:stop], history.propagation[:, start:stop])
