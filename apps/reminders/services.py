"""Writes for medication reminders: plans, doses, adherence marks, snoozes, refills,
family access. Every write that touches patient data is audited here; the dispatch
of reminders lives in dispatch.py."""

import datetime
import hashlib
import secrets

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.configuration.selectors import setting_value
from apps.core.exceptions import ConflictError, DomainError, NotFoundError
from apps.privacy.services import audit_record
from apps.realtime.publish import publish

from . import schedule
from .models import SHANGHAI, Dose, DoseEvent, FamilyAccess, MedicationPlan

HORIZON_DAYS = 2  # doses exist as rows this many local days ahead; a daily job extends them
FAMILY_CODE_TTL = datetime.timedelta(days=7)
EARLY_MARK_ALLOWANCE = datetime.timedelta(hours=1)


def _invalid(field: str, message: str, code: str = "invalid") -> DomainError:
    return DomainError(message, code=code, fields={field: [message]})


def _local_today(tz_name: str) -> datetime.date:
    return timezone.now().astimezone(schedule.zone(tz_name)).date()


def _clean_times(times) -> list[str]:
    if not isinstance(times, list) or not times:
        raise _invalid("times", _("Give at least one time of day, as HH:MM."))
    if len(times) > schedule.MAX_DOSES_PER_DAY:
        raise _invalid("times", _("At most %(limit)s doses a day; check the plan with the doctor.")
                       % {"limit": schedule.MAX_DOSES_PER_DAY}, code="too_many_doses")
    for value in times:
        try:
            schedule.parse_time(value)
        except ValueError:
            raise _invalid("times", _("%(value)s is not a time between 00:00 and 23:59 (HH:MM).")
                           % {"value": value}, code="invalid_time") from None
    if len(set(times)) != len(times):
        raise _invalid("times", _("Each time of day may appear once."))
    return sorted(times)


def _check_dates(start: datetime.date, end: datetime.date | None) -> None:
    if end is not None and end < start:
        raise _invalid("end_date", _("The end date is before the start date."), code="end_before_start")


def plan_create(*, patient, actor, role: str, drug_name: str, dose: str, times: list[str],
                start_date: datetime.date, end_date: datetime.date | None = None,
                kind: str = MedicationPlan.Kind.RECURRING, notes: str = "", source: str = MedicationPlan.Source.MANUAL,
                prescription_reference: str = "", units_per_dose: int = 1, supply_remaining: int | None = None,
                timezone_name: str = SHANGHAI) -> MedicationPlan:
    """Store a plan and its first doses. Validation happens before anything is written."""
    times = _clean_times(times)
    _check_dates(start_date, end_date)
    try:
        schedule.zone(timezone_name)
    except ValueError:
        raise _invalid("timezone", _("Unknown time zone.")) from None
    if source == MedicationPlan.Source.PRESCRIPTION and not prescription_reference:
        raise _invalid("prescription_reference", _("A plan from a prescription needs the prescription's reference."))
    with transaction.atomic():
        plan = MedicationPlan.objects.create(
            hospital_id=patient.hospital_id, patient=patient, drug_name=drug_name.strip(), dose=dose.strip(),
            times=times, timezone=timezone_name, kind=kind, start_date=start_date, end_date=end_date, notes=notes,
            source=source, prescription_reference=prescription_reference, units_per_dose=units_per_dose,
            supply_remaining=supply_remaining, created_by=actor if getattr(actor, "is_authenticated", False) else None)
        created = doses_materialise(plan=plan)
        audit_record(action="medication_plan.create", actor=actor, role=role, hospital_id=plan.hospital_id,
                     object_type="medication_plan", object_id=plan.pk, patient_id=patient.pk,
                     detail={"drug": plan.drug_name, "times": times, "doses_created": created})
    return plan


def plan_update(*, plan: MedicationPlan, actor, role: str, **changes) -> MedicationPlan:
    """Change notes, dose, end date, supply or end the plan (active=False). Doses not
    yet reminded that fall outside the plan afterwards are removed."""
    allowed = {"notes", "dose", "end_date", "active", "supply_remaining", "units_per_dose"}
    changes = {key: value for key, value in changes.items() if key in allowed}
    if "end_date" in changes:
        _check_dates(plan.start_date, changes["end_date"])
    with transaction.atomic():
        plan = MedicationPlan.objects.select_for_update().get(pk=plan.pk)
        before = {key: str(getattr(plan, key)) for key in changes}
        for key, value in changes.items():
            setattr(plan, key, value)
        plan.save(update_fields=list(changes) or None)
        removed = _drop_future_doses(plan)
        if plan.active:
            doses_materialise(plan=plan)
        audit_record(action="medication_plan.update", actor=actor, role=role, hospital_id=plan.hospital_id,
                     object_type="medication_plan", object_id=plan.pk, patient_id=plan.patient_id,
                     detail={"old": before, "new": {key: str(value) for key, value in changes.items()},
                             "future_doses_removed": removed})
    return plan


def _drop_future_doses(plan: MedicationPlan) -> int:
    future = Dose.objects.filter(plan=plan, scheduled_at__gt=timezone.now(), reminder_round=0,
                                 dispatch_state=Dose.Dispatch.PENDING, status=Dose.Status.SCHEDULED)
    if plan.active and plan.end_date is not None:
        tz = schedule.zone(plan.timezone)
        after_end = schedule.local_instant(plan.end_date + schedule.DAY, datetime.time(0, 0), tz)
        future = future.filter(scheduled_at__gte=after_end)
    elif plan.active:
        return 0
    removed, _by_model = future.delete()
    if plan.active and plan.end_date is not None and plan.materialised_until and plan.materialised_until > plan.end_date:
        MedicationPlan.objects.filter(pk=plan.pk).update(materialised_until=plan.end_date)
        plan.materialised_until = plan.end_date
    return removed


def doses_materialise(*, plan: MedicationPlan, horizon_days: int = HORIZON_DAYS) -> int:
    """Create the plan's dose rows up to `horizon_days` local days ahead. Idempotent:
    a dose per (plan, due instant) exists once."""
    if not plan.active:
        return 0
    today = _local_today(plan.timezone)
    until = today + datetime.timedelta(days=horizon_days)
    since = max(plan.start_date, today if plan.materialised_until is None
                else plan.materialised_until + schedule.DAY)
    instants = schedule.dose_instants(times=plan.times, tz_name=plan.timezone, start=plan.start_date,
                                      end=plan.end_date, once=plan.kind == MedicationPlan.Kind.ONCE,
                                      from_day=since, to_day=until)
    now = timezone.now()
    rows = [Dose(hospital_id=plan.hospital_id, plan=plan, patient_id=plan.patient_id, scheduled_at=at, remind_at=at)
            for at in instants if at >= now - datetime.timedelta(minutes=1)]
    Dose.objects.bulk_create(rows, ignore_conflicts=True)
    MedicationPlan.objects.filter(pk=plan.pk).update(materialised_until=until)
    plan.materialised_until = until
    return len(rows)


def doses_materialise_all() -> int:
    """The daily job's body for the current hospital: extend every active plan."""
    return sum(doses_materialise(plan=plan) for plan in MedicationPlan.objects.filter(active=True))


def _ledger(dose: Dose | None, plan: MedicationPlan, kind: str, at, **detail) -> DoseEvent:
    return DoseEvent.objects.create(hospital_id=plan.hospital_id, plan=plan, dose=dose, kind=kind, occurred_at=at,
                                    detail=detail)


MARKABLE = {Dose.Status.TAKEN, Dose.Status.TAKEN_LATE, Dose.Status.SKIPPED}


def dose_mark(*, dose: Dose, status: str, actor, role: str) -> Dose:
    """The patient says what they did with a dose. "taken" long after the due time
    (reminders.taken_late_after_minutes) is recorded as taken late. A dose already
    marked taken or skipped cannot be marked again; a missed one can still be marked."""
    if status not in MARKABLE:
        raise _invalid("status", _("Mark a dose taken, taken_late or skipped."))
    now = timezone.now()
    with transaction.atomic():
        dose = Dose.objects.select_for_update().select_related("plan").get(pk=dose.pk)
        if dose.scheduled_at - now > EARLY_MARK_ALLOWANCE:
            raise DomainError(_("This dose is not due yet."), code="dose_not_due")
        if dose.status not in (Dose.Status.SCHEDULED, Dose.Status.MISSED):
            raise ConflictError(_("This dose is already marked %(status)s.") % {"status": dose.get_status_display()},
                                code="already_marked")
        late_after = datetime.timedelta(minutes=setting_value("reminders.taken_late_after_minutes"))
        if status == Dose.Status.TAKEN and now - dose.scheduled_at >= late_after:
            status = Dose.Status.TAKEN_LATE
        previous = dose.status
        dose.status, dose.marked_at = status, now
        fields = ["status", "marked_at"]
        if dose.dispatch_state == Dose.Dispatch.PENDING:
            # A dose already dealt with needs no (further) reminder.
            dose.dispatch_state = Dose.Dispatch.CANCELLED
            fields.append("dispatch_state")
        dose.save(update_fields=fields)
        _ledger(dose, dose.plan, status, now, previous=previous)
        if status != Dose.Status.SKIPPED:
            _spend_supply(dose.plan, now)
        audit_record(action="dose.mark", actor=actor, role=role, hospital_id=dose.hospital_id, object_type="dose",
                     object_id=dose.pk, patient_id=dose.patient_id, detail={"status": status, "previous": previous})
    return dose


def _spend_supply(plan: MedicationPlan, now) -> None:
    if plan.supply_remaining is None:
        return
    MedicationPlan.objects.filter(pk=plan.pk).update(
        supply_remaining=F("supply_remaining") - min(plan.supply_remaining, plan.units_per_dose))
    plan.refresh_from_db(fields=["supply_remaining", "refill_reminded_at"])
    refill_check(plan=plan, now=now)


def supply_days_left(plan: MedicationPlan) -> float | None:
    if plan.supply_remaining is None:
        return None
    per_day = plan.units_per_dose * len(plan.times)
    return plan.supply_remaining / per_day if per_day else None


def refill_check(*, plan: MedicationPlan, now=None) -> bool:
    """Remind the patient once, in the app, when the supply lasts fewer than
    reminders.refill_days days; a refill re-arms it. Returns whether it reminded."""
    days_left = supply_days_left(plan)
    if days_left is None or plan.refill_reminded_at is not None or days_left >= setting_value("reminders.refill_days"):
        return False
    now = now or timezone.now()
    if not MedicationPlan.objects.filter(pk=plan.pk, refill_reminded_at__isnull=True).update(refill_reminded_at=now):
        return False
    plan.refill_reminded_at = now
    _ledger(None, plan, DoseEvent.Kind.REFILL_DUE, now, units_remaining=plan.supply_remaining,
            days_left=round(days_left, 1))
    user_id = plan.patient.user_id
    if user_id:
        publish("reminders.refill_due", {"plan": plan.pk, "drug": plan.drug_name, "units_remaining": plan.supply_remaining,
                                         "days_left": round(days_left, 1)}, user_ids=[user_id], hospital_id=plan.hospital_id)
    return True


def plan_refill(*, plan: MedicationPlan, units: int, actor, role: str) -> MedicationPlan:
    if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units <= 10_000:
        raise _invalid("units", _("Give the number of units added, 1 to 10000."))
    now = timezone.now()
    with transaction.atomic():
        plan = MedicationPlan.objects.select_for_update().get(pk=plan.pk)
        plan.supply_remaining = (plan.supply_remaining or 0) + units
        plan.refill_reminded_at = None
        plan.save(update_fields=["supply_remaining", "refill_reminded_at"])
        _ledger(None, plan, DoseEvent.Kind.REFILLED, now, units=units, units_remaining=plan.supply_remaining)
        audit_record(action="medication_plan.refill", actor=actor, role=role, hospital_id=plan.hospital_id,
                     object_type="medication_plan", object_id=plan.pk, patient_id=plan.patient_id,
                     detail={"units": units})
    return plan


def dose_snooze(*, dose: Dose, actor, role: str, minutes: int | None = None) -> Dose:
    """Remind again in `minutes` (reminders.snooze_minutes by default). The snoozed
    reminder is a new round of the same dose, sent once like the first."""
    limit = setting_value("reminders.max_snoozes")
    minutes = minutes if minutes is not None else setting_value("reminders.snooze_minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 120:
        raise _invalid("minutes", _("Snooze for 1 to 120 minutes."))
    now = timezone.now()
    with transaction.atomic():
        dose = Dose.objects.select_for_update().select_related("plan").get(pk=dose.pk)
        if dose.status != Dose.Status.SCHEDULED:
            raise ConflictError(_("Only a dose not yet marked can be snoozed."), code="already_marked")
        if dose.scheduled_at > now + EARLY_MARK_ALLOWANCE:
            raise DomainError(_("This dose is not due yet."), code="dose_not_due")
        if dose.snooze_count >= limit:
            raise ConflictError(_("This dose was snoozed %(count)s times already; take or skip it.")
                                % {"count": dose.snooze_count}, code="snooze_limit")
        dose.remind_at = now + datetime.timedelta(minutes=minutes)
        dose.snooze_count += 1
        dose.reminder_round += 1
        dose.dispatch_state = Dose.Dispatch.PENDING
        dose.queued_at = dose.claimed_at = None
        dose.save(update_fields=["remind_at", "snooze_count", "reminder_round", "dispatch_state", "queued_at",
                                 "claimed_at"])
        _ledger(dose, dose.plan, DoseEvent.Kind.SNOOZED, now, minutes=minutes, round=dose.reminder_round)
        audit_record(action="dose.snooze", actor=actor, role=role, hospital_id=dose.hospital_id, object_type="dose",
                     object_id=dose.pk, patient_id=dose.patient_id, detail={"minutes": minutes})
    return dose


def doses_mark_missed(*, now=None) -> int:
    """The periodic job for the current hospital: doses nobody marked
    reminders.missed_after_minutes after they were due become missed."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(minutes=setting_value("reminders.missed_after_minutes"))
    with transaction.atomic():
        doses = list(Dose.objects.select_for_update(skip_locked=True)
                     .filter(status=Dose.Status.SCHEDULED, scheduled_at__lt=cutoff).select_related("plan")[:5000])
        if not doses:
            return 0
        Dose.objects.filter(pk__in=[dose.pk for dose in doses]).update(status=Dose.Status.MISSED)
        DoseEvent.objects.bulk_create([DoseEvent(hospital_id=dose.hospital_id, plan=dose.plan, dose=dose,
                                                 kind=DoseEvent.Kind.MISSED, occurred_at=now) for dose in doses])
        audit_record(action="dose.missed", object_type="dose", detail={
            "dose_ids": [dose.pk for dose in doses], "patient_ids": sorted({dose.patient_id for dose in doses})})
    return len(doses)


# --- family access ---------------------------------------------------------------------


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def family_invite(*, patient, actor, role: str, label: str = "") -> tuple[FamilyAccess, str]:
    """An invitation code (shown once) a family member enters to view the patient's
    plans and adherence."""
    code = secrets.token_hex(5).upper()
    with transaction.atomic():
        access = FamilyAccess.objects.create(hospital_id=patient.hospital_id, patient=patient, label=label[:40],
                                             code_hash=_code_hash(code),
                                             expires_at=timezone.now() + FAMILY_CODE_TTL)
        audit_record(action="family_access.invite", actor=actor, role=role, hospital_id=patient.hospital_id,
                     object_type="family_access", object_id=access.pk, patient_id=patient.pk)
    return access, code


def family_accept(*, code: str, member, role: str) -> FamilyAccess:
    with transaction.atomic():
        access = (FamilyAccess.objects.select_for_update().select_related("patient")
                  .filter(code_hash=_code_hash(code or "")).first())
        if access is None or access.revoked_at or access.accepted_at or access.expires_at < timezone.now():
            raise DomainError(_("This invitation code is not valid; ask for a new one."), code="invitation_invalid",
                              fields={"code": [_("Not a valid invitation code.")]})
        if access.patient.user_id == member.pk:
            raise DomainError(_("You cannot invite yourself."), code="invitation_invalid")
        access.member, access.accepted_at = member, timezone.now()
        access.save(update_fields=["member", "accepted_at"])
        audit_record(action="family_access.accept", actor=member, role=role, hospital_id=access.hospital_id,
                     object_type="family_access", object_id=access.pk, patient_id=access.patient_id)
    return access


def family_revoke(*, access: FamilyAccess, actor, role: str) -> FamilyAccess:
    if access.revoked_at:
        raise NotFoundError(_("No such family access."))
    with transaction.atomic():
        access.revoked_at = timezone.now()
        access.save(update_fields=["revoked_at"])
        audit_record(action="family_access.revoke", actor=actor, role=role, hospital_id=access.hospital_id,
                     object_type="family_access", object_id=access.pk, patient_id=access.patient_id)
    return access
