"""Reads for medication reminders, scoped to who is asking: staff of the hospital see
every patient's plans; a patient sees their own and those of patients who invited
them as family; anyone else nothing."""

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apps.configuration.selectors import setting_value
from apps.patients.models import Patient
from apps.tenancy.roles import Role
from apps.tenancy.selectors import TenantAccess

from . import schedule
from .models import Dose, DoseEvent, FamilyAccess, MedicationPlan

CLINICAL_ROLES = (Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN)
DONE = (Dose.Status.TAKEN, Dose.Status.TAKEN_LATE)
COUNTED = (Dose.Status.TAKEN, Dose.Status.TAKEN_LATE, Dose.Status.SKIPPED, Dose.Status.MISSED)


def own_patients(*, user) -> QuerySet[Patient]:
    return Patient.objects.filter(user=user)


def family_patient_ids(*, user) -> list[int]:
    return list(FamilyAccess.objects.filter(member=user, accepted_at__isnull=False, revoked_at__isnull=True)
                .values_list("patient_id", flat=True))


def visible_patient_ids(*, user, tenant: TenantAccess | None) -> list[int] | None:
    """None: every patient of the hospital (clinical staff); else the ids visible."""
    if tenant is None:
        return []
    if tenant.role in CLINICAL_ROLES:
        return None
    if tenant.role == Role.PATIENT:
        return list(own_patients(user=user).values_list("pk", flat=True)) + family_patient_ids(user=user)
    return []


def may_change(*, user, tenant: TenantAccess | None, patient_id: int) -> bool:
    """Writes: clinical staff for any patient, a patient for their own record (family view only)."""
    if tenant is None:
        return False
    if tenant.role in CLINICAL_ROLES:
        return True
    return tenant.role == Role.PATIENT and own_patients(user=user).filter(pk=patient_id).exists()


def plans_for(*, user, tenant, patient_id: int | None = None) -> QuerySet[MedicationPlan]:
    visible = visible_patient_ids(user=user, tenant=tenant)
    plans = MedicationPlan.objects.select_related("patient")
    if visible is not None:
        plans = plans.filter(patient_id__in=visible)
    if patient_id is not None:
        plans = plans.filter(patient_id=patient_id)
    return plans


def doses_for(*, user, tenant) -> QuerySet[Dose]:
    visible = visible_patient_ids(user=user, tenant=tenant)
    doses = Dose.objects.select_related("plan")
    if visible is not None:
        doses = doses.filter(patient_id__in=visible)
    return doses


def adherence_counts(plans: QuerySet[MedicationPlan]) -> QuerySet:
    """Per plan: doses taken, taken late, skipped, missed (one query)."""
    return plans.annotate(
        taken=Count("doses", filter=Q(doses__status=Dose.Status.TAKEN)),
        taken_late=Count("doses", filter=Q(doses__status=Dose.Status.TAKEN_LATE)),
        skipped=Count("doses", filter=Q(doses__status=Dose.Status.SKIPPED)),
        missed=Count("doses", filter=Q(doses__status=Dose.Status.MISSED)),
    )


def adherence_rate(*, taken: int, taken_late: int, skipped: int, missed: int) -> float | None:
    """Share of settled doses that were taken (on time or late); None before any."""
    settled = taken + taken_late + skipped + missed
    return round((taken + taken_late) / settled, 3) if settled else None


def plan_adherence(plan: MedicationPlan) -> dict:
    row = adherence_counts(MedicationPlan.objects.filter(pk=plan.pk)).values(
        "taken", "taken_late", "skipped", "missed").get()
    return {**row, "rate": adherence_rate(**row)}


def plan_history(plan: MedicationPlan, *, limit: int = 200) -> list[DoseEvent]:
    return list(DoseEvent.objects.filter(plan=plan).select_related("dose")[:limit])


def catch_up_for(dose: Dose, *, now=None) -> dict | None:
    """Advice for a missed (or overdue, unmarked) dose; None for others."""
    now = now or timezone.now()
    if dose.status not in (Dose.Status.MISSED, Dose.Status.SCHEDULED) or dose.scheduled_at > now:
        return None
    fraction = setting_value("reminders.catch_up_max_fraction")
    advice = schedule.catch_up_advice(due=dose.scheduled_at, now=now,
                                      interval=schedule.dosing_interval(dose.plan.times), max_fraction=fraction)
    return {"advice": advice.advice, "late_minutes": advice.late_minutes,
            "interval_minutes": advice.interval_minutes, "threshold_minutes": advice.threshold_minutes,
            "rule_fraction": fraction}


def adherence_overview(*, limit: int = 200) -> list[dict]:
    """The web admin's view: active plans of the hospital, lowest adherence first."""
    rows = adherence_counts(MedicationPlan.objects.filter(active=True).select_related("patient"))[:2000]
    result = []
    for plan in rows:
        rate = adherence_rate(taken=plan.taken, taken_late=plan.taken_late, skipped=plan.skipped, missed=plan.missed)
        result.append({"plan": plan, "rate": rate, "missed": plan.missed, "skipped": plan.skipped,
                       "taken": plan.taken + plan.taken_late})
    result.sort(key=lambda row: (row["rate"] is None, row["rate"] if row["rate"] is not None else 0))
    return result[:limit]


def active_drug_names(*, patient_id: int) -> list[str]:
    """Drugs of the patient's active plans (the tips recommender's signal)."""
    return list(MedicationPlan.objects.filter(patient_id=patient_id, active=True)
                .values_list("drug_name", flat=True).distinct())
