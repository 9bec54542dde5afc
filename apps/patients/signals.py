"""Signals other apps listen to, so the patients app does not import them.

`encounter_recorded` is sent after the transaction that created or changed an
encounter's clinical text commits, with `encounter_id` and `hospital_id`. The
clinical NLP app structures the text in a Celery task when it receives it.
"""

from django.dispatch import Signal

encounter_recorded = Signal()
