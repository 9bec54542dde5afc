"""Signals other apps listen to, so the registry does not import them.

`prediction_indexes_ready(sender=RareCase, case=case)` is sent once both prediction
indexes of a case are written (step 6), inside the case's hospital's tenant context
and transaction: a receiver reads `case.first_prediction_index` and
`case.second_prediction_index` and queues its work with `transaction.on_commit`.
The partners app decides and shares there (step 7).

`case_kept_alive(sender=RareCase, case=case, new_items=[...])` is sent after step 8
stored new related data for a case (same context rules).

`case_refreshed(sender=RareCase, case=case, feature_changed=bool)` is sent after every
step 8 refresh of a case, new related data or not: the retrieval feature was rebuilt
and the case may have changed (new findings, lab results). The partners app sends
partners that hold the case its new version there.

A receiver that raises is logged and its writes are rolled back to a savepoint; the
registry's writes stand."""

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

prediction_indexes_ready = Signal()
case_kept_alive = Signal()
case_refreshed = Signal()


def announce(signal: Signal, **kwargs) -> None:
    """Send `signal` for one case (sender RareCase) in a savepoint: a receiver that
    fails is logged and its writes undone, never undoing the registry's own writes
    or the other cases'."""
    from .models import RareCase

    try:
        with transaction.atomic():
            signal.send(sender=RareCase, **kwargs)
    except Exception:
        logger.exception("a receiver of %s failed for rare case %s", signal, kwargs.get("case"))
