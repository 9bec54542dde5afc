"""Signals other apps listen to, so the registry does not import them.

`prediction_indexes_ready(sender=RareCase, case=case)` is sent once both prediction
indexes of a case are written (step 6), inside the case's hospital's tenant context
and transaction: a receiver reads `case.first_prediction_index` and
`case.second_prediction_index` and queues its work with `transaction.on_commit`.
The partners app decides and shares there (step 7).

`case_kept_alive(sender=RareCase, case=case, new_items=[...])` is sent after step 8
stored new related data for a case (same context rules)."""

from django.dispatch import Signal

prediction_indexes_ready = Signal()
case_kept_alive = Signal()
