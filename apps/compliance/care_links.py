"""Is there a care relationship between a staff member and a patient?

A small registry of "care link providers". Each provider answers for a batch of
(staff user id, patient id) pairs at once (one query per provider per detection
run, not per event) and returns the pairs it links. Other apps add theirs in their
AppConfig.ready():

    from apps.compliance.care_links import register_care_link_provider
    register_care_link_provider("booking.appointment", appointments_linking)

A pair with no provider linking it is an access without a care relationship.
"""

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db.models import Q

Pair = tuple[int, int]
Provider = Callable[..., set[Pair]]  # (pairs: set[Pair], at: datetime, link_days: int) -> set[Pair]

_providers: dict[str, Provider] = {}


def register_care_link_provider(name: str, provider: Provider) -> None:
    _providers[name] = provider


def care_link_providers() -> dict[str, Provider]:
    return dict(_providers)


def care_links_for(pairs: Iterable[Pair], *, at: datetime, link_days: int) -> dict[Pair, str]:
    """Each linked pair with the name of the first provider that linked it. Runs in
    the current tenant context: providers see this hospital's rows only."""
    remaining = set(pairs)
    linked: dict[Pair, str] = {}
    for name, provider in _providers.items():
        if not remaining:
            break
        for pair in provider(remaining, at=at, link_days=link_days):
            linked.setdefault(pair, name)
        remaining -= set(linked)
    return linked


def _encounters_linking(pairs: set[Pair], *, at: datetime, link_days: int):
    from apps.patients.models import Encounter

    patient_ids = {patient for _staff, patient in pairs}
    # Encounters current at `at` or ended within the link period.
    return (Encounter.objects.filter(patient_id__in=patient_ids, started_at__lte=at)
            .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=at - timedelta(days=link_days))))


def encounter_attending(pairs: set[Pair], *, at: datetime, link_days: int) -> set[Pair]:
    rows = _encounters_linking(pairs, at=at, link_days=link_days).values_list("attending_id", "patient_id")
    return {(staff, patient) for staff, patient in rows if (staff, patient) in pairs}


def department_encounter(pairs: set[Pair], *, at: datetime, link_days: int) -> set[Pair]:
    """Staff of the department treating the patient (ward rounds, nurses, cover)."""
    from apps.tenancy.context import current_hospital_id
    from apps.tenancy.models import Membership

    staff_ids = {staff for staff, _patient in pairs}
    departments = dict(Membership.objects.filter(user_id__in=staff_ids, hospital_id=current_hospital_id(),
                                                 department__isnull=False).values_list("user_id", "department_id"))
    if not departments:
        return set()
    rows = (_encounters_linking(pairs, at=at, link_days=link_days).filter(department_id__isnull=False)
            .values_list("department_id", "patient_id"))
    treating: dict[int, set[int]] = {}
    for department, patient in rows:
        treating.setdefault(patient, set()).add(department)
    return {(staff, patient) for staff, patient in pairs if departments.get(staff) in treating.get(patient, ())}


def diagnosis_by_staff(pairs: set[Pair], *, at: datetime, link_days: int) -> set[Pair]:
    """A diagnosis made in an encounter the staff member attended (the encounter
    itself may be older than the link period while the diagnosis is recent)."""
    from apps.patients.models import Diagnosis

    patient_ids = {patient for _staff, patient in pairs}
    rows = (Diagnosis.objects.filter(patient_id__in=patient_ids, diagnosed_at__lte=at,
                                     diagnosed_at__gte=at - timedelta(days=link_days))
            .values_list("encounter__attending_id", "patient_id"))
    return {(staff, patient) for staff, patient in rows if (staff, patient) in pairs}


register_care_link_provider("patients.encounter_attending", encounter_attending)
register_care_link_provider("patients.department_encounter", department_encounter)
register_care_link_provider("patients.diagnosis", diagnosis_by_staff)
