"""Signals of the rare-case registry.

`prediction_indexes_ready(sender=RareCase, case=case)` is sent after both prediction
indexes of a case have been written (step 6 of issue 7); the sharing side
(apps.partners) decides from them whether to share the case with partners."""

from django.dispatch import Signal

prediction_indexes_ready = Signal()
