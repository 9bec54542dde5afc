"""The one guarded path out for patient data: partner shares, research exports and
training-set builds call `data_release` with the records they mean to send.

It refuses patients without consent for the purpose (403 consent_required, nothing
released), de-identifies the records (deidentify.py, with the k-anonymity check),
and writes the egress audit event the violation rules read (action ending in
".release", with the purpose, the recipient, the patients and `deidentified: true`).
Anything that leaves another way shows up as an egress event without that, and opens
a case.

`recipient` names who receives the set, as a stable identifier ("partner:<code>",
never a display name that can be edited): the pseudonyms are then the recipient's
own (the same patient gets the same pseudonym at that recipient every time, and a
different one at any other). Without it they are the purpose's, as before."""

from django.db import transaction

from apps.privacy.services import audit_record
from apps.tenancy.context import hospital_scope

from .consent import consent_require
from .deidentify import DeidentifiedSet, deidentify_records, recipient_checked
from .models import ConsentPurpose


def data_release(*, hospital_id: int, records: list[dict], purpose: str, mode: str = "pseudonymise", k: int = 5,
                 recipient: str = "", actor=None, role: str = "", action: str = "compliance.data.release"
                 ) -> DeidentifiedSet:
    """`records` are dicts with a "patient_id"; returns the de-identified set to send.
    A blank or padded `recipient` is refused (400 invalid) before anything is read."""
    recipient = recipient_checked(recipient)
    patient_ids = sorted({r["patient_id"] for r in records if r.get("patient_id") is not None})
    with hospital_scope(hospital_id), transaction.atomic():
        if purpose != ConsentPurpose.CARE:
            consent_require(patient_ids, purpose)
        released = deidentify_records(records, purpose=purpose, mode=mode, hospital_id=hospital_id, k=k,
                                      recipient=recipient)
        audit_record(action=action, actor=actor, role=role, hospital_id=hospital_id, object_type="data_release",
                     detail={"purpose": purpose, "mode": mode, "deidentified": True, "patient_ids": patient_ids[:5000],
                             "records": len(released.records), "suppressed": released.suppressed, "k": released.k,
                             "recipient": recipient})
    return released
