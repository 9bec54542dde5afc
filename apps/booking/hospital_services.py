"""Hospital-side booking: experts, schedules and their slots, stopping a session,
check-in and completion, no-show marking. Every write is audited; the web admin
views and the periodic job call these."""

import datetime
from collections import Counter

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.exceptions import ConflictError, DomainError, NotFoundError
from apps.privacy.services import audit_record
from apps.tenancy.models import Department

from .cache import expert_slots_changed
from .models import Appointment, Expert, ExpertSearchTerm, Schedule, Slot, WaitlistEntry
from .notifications import appointment_notify
from .rules import booking_rules
from .search import search_terms_for, search_text_for
from .voucher import voucher_code_from_scan

PERIOD_TIMES = {
    Schedule.Period.MORNING: (datetime.time(8, 0), datetime.time(12, 0)),
    Schedule.Period.AFTERNOON: (datetime.time(13, 30), datetime.time(17, 30)),
    Schedule.Period.EVENING: (datetime.time(18, 0), datetime.time(21, 0)),
}
MAX_SLOTS_PER_SCHEDULE = 96


def _invalid(field: str, message: str) -> DomainError:
    return DomainError(message, code="invalid", fields={field: [message]})


# --- experts --------------------------------------------------------------------------------


def expert_save(*, actor, role: str, hospital_id: int, department_id: int, name: str, title: str,
                specialties: str = "", introduction: str = "", user=None, expert: Expert | None = None) -> Expert:
    """Create an expert (expert None) or change one; keeps its search text current."""
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        raise _invalid("department", _("Choose a department of this hospital."))
    if title not in Expert.Title.values:
        raise _invalid("title", _("Choose one of the listed titles."))
    name = name.strip()
    if not name:
        raise _invalid("name", _("An expert needs a name."))
    with transaction.atomic():
        created = expert is None
        expert = expert or Expert(hospital_id=hospital_id)
        expert.department, expert.name, expert.title = department, name, title
        expert.title_rank = Expert.TITLE_RANK[title]
        expert.specialties, expert.introduction = specialties.strip(), introduction.strip()
        if user is not None:
            expert.user = user
        expert.search_text = search_text_for(name, specialties, department.name,
                                             str(Expert.Title(title).label), _title_chinese(title))
        expert.save()
        expert_search_terms_save(expert)
        audit_record(action="expert.create" if created else "expert.update", actor=actor, role=role,
                     hospital_id=hospital_id, object_type="expert", object_id=expert.pk,
                     detail={"name": name, "title": title, "department": department.pk})
    return expert


def expert_search_terms_save(expert: Expert) -> None:
    """Rewrite the expert's rows of the search index from its search text."""
    ExpertSearchTerm.objects.filter(expert=expert).delete()
    ExpertSearchTerm.objects.bulk_create([ExpertSearchTerm(hospital_id=expert.hospital_id, expert=expert, term=term)
                                          for term in sorted(search_terms_for(expert.search_text))])


_TITLES_ZH = {"chief": "主任医师", "associate_chief": "副主任医师", "attending": "主治医师", "resident": "住院医师"}


def _title_chinese(title: str) -> str:
    # Patients search in Chinese whatever the admin's interface language is.
    return _TITLES_ZH[title]


# --- schedules and slots -----------------------------------------------------------------------


def _slot_bounds(date: datetime.date, start: datetime.time, end: datetime.time, minutes: int):
    tz = timezone.get_current_timezone()
    moment = datetime.datetime.combine(date, start, tzinfo=tz)
    finish = datetime.datetime.combine(date, end, tzinfo=tz)
    while moment + datetime.timedelta(minutes=minutes) <= finish:
        yield moment, moment + datetime.timedelta(minutes=minutes)
        moment += datetime.timedelta(minutes=minutes)


def schedule_create(*, actor, role: str, expert: Expert, date: datetime.date, period: str,
                    start_time: datetime.time | None = None, end_time: datetime.time | None = None,
                    slot_minutes: int = 30, capacity: int = 5, publish: bool = True) -> Schedule:
    """A session of `expert` on `date`, cut into slots of `slot_minutes` holding
    `capacity` patients each; published at once unless `publish` is False."""
    if period in PERIOD_TIMES and start_time is None and end_time is None:
        start_time, end_time = PERIOD_TIMES[period]
    if start_time is None or end_time is None or end_time <= start_time:
        raise _invalid("end_time", _("A session needs a start time before its end time."))
    if date < timezone.localdate():
        raise _invalid("date", _("A session cannot be in the past."))
    if not 5 <= slot_minutes <= 240:
        raise _invalid("slot_minutes", _("Slots last between 5 and 240 minutes."))
    if not 1 <= capacity <= 500:
        raise _invalid("capacity", _("A slot holds between 1 and 500 patients."))
    bounds = list(_slot_bounds(date, start_time, end_time, slot_minutes))
    if not bounds or len(bounds) > MAX_SLOTS_PER_SCHEDULE:
        raise _invalid("slot_minutes", _("The session must hold between 1 and %(n)s slots of this length.")
                       % {"n": MAX_SLOTS_PER_SCHEDULE})
    overlapping = Schedule.objects.filter(expert=expert, date=date, start_time__lt=end_time, end_time__gt=start_time)
    if overlapping.exclude(status=Schedule.Status.STOPPED).exists():
        raise ConflictError(_("This expert already has a session at that time."), code="schedule_overlap")
    with transaction.atomic():
        schedule = Schedule.objects.create(
            hospital_id=expert.hospital_id, expert=expert, date=date, period=period, start_time=start_time,
            end_time=end_time, status=Schedule.Status.PUBLISHED if publish else Schedule.Status.DRAFT)
        Slot.objects.bulk_create([Slot(hospital_id=expert.hospital_id, schedule=schedule, expert=expert, start=start,
                                       end=end, capacity=capacity) for start, end in bounds])
        audit_record(action="schedule.create", actor=actor, role=role, hospital_id=expert.hospital_id,
                     object_type="schedule", object_id=schedule.pk,
                     detail={"expert": expert.pk, "date": date.isoformat(), "slots": len(bounds),
                             "capacity": capacity, "status": schedule.status})
        expert_slots_changed(expert.pk)
    return schedule


def _schedule_locked(schedule_id: int) -> Schedule:
    schedule = Schedule.objects.select_for_update().filter(pk=schedule_id).first()
    if schedule is None:
        raise NotFoundError(_("No such session."), code="not_found")
    return schedule


def schedule_publish(*, actor, role: str, schedule_id: int) -> Schedule:
    with transaction.atomic():
        schedule = _schedule_locked(schedule_id)
        if schedule.status != Schedule.Status.DRAFT:
            raise ConflictError(_("Only a draft session can be published."), code="not_draft")
        schedule.status = Schedule.Status.PUBLISHED
        schedule.save(update_fields=["status"])
        audit_record(action="schedule.publish", actor=actor, role=role, hospital_id=schedule.hospital_id,
                     object_type="schedule", object_id=schedule.pk)
        expert_slots_changed(schedule.expert_id)
    return schedule


def slot_capacity_change(*, actor, role: str, slot_id: int, capacity: int) -> Slot:
    """Change a slot's capacity; never below the places already booked or held."""
    if not 1 <= capacity <= 500:
        raise _invalid("capacity", _("A slot holds between 1 and 500 patients."))
    with transaction.atomic():
        slot = Slot.objects.select_for_update().filter(pk=slot_id).first()
        if slot is None:
            raise NotFoundError(_("No such slot at this hospital."), code="not_found")
        if capacity < slot.booked + slot.held:
            raise ConflictError(_("%(n)s places are taken; the capacity cannot go below that.")
                                % {"n": slot.booked + slot.held}, code="capacity_below_booked")
        old = slot.capacity
        Slot.objects.filter(pk=slot.pk).update(capacity=capacity)
        slot.capacity = capacity
        audit_record(action="slot.capacity_change", actor=actor, role=role, hospital_id=slot.hospital_id,
                     object_type="slot", object_id=slot.pk, detail={"old": old, "new": capacity})
        expert_slots_changed(slot.expert_id)
    return slot


def schedule_stop(*, actor, role: str, schedule_id: int, reason: str) -> int:
    """Stop a session (停诊): every live booking is cancelled by the hospital and its
    patient notified; waitlists close. Returns how many bookings were cancelled."""
    reason = (reason or "").strip()
    if not reason:
        raise _invalid("reason", _("Say why the session stops; patients are told."))
    with transaction.atomic():
        schedule = _schedule_locked(schedule_id)
        if schedule.status == Schedule.Status.STOPPED:
            raise ConflictError(_("This session is already stopped."), code="already_stopped")
        schedule.status, schedule.stop_reason = Schedule.Status.STOPPED, reason[:200]
        schedule.save(update_fields=["status", "stop_reason"])
        slots = list(Slot.objects.select_for_update().filter(schedule=schedule).order_by("pk"))
        appointments = list(Appointment.objects.select_for_update()
                            .filter(slot__in=slots, status=Appointment.Status.BOOKED).order_by("pk"))
        now = timezone.now()
        for appointment in appointments:
            appointment.status, appointment.cancelled_at = Appointment.Status.CANCELLED_BY_HOSPITAL, now
            appointment.cancel_reason = schedule.stop_reason
            appointment.save(update_fields=["status", "cancelled_at", "cancel_reason"])
            appointment_notify(appointment, "cancelled_by_hospital")
        entries = list(WaitlistEntry.objects.select_for_update().filter(
            slot__in=slots, status__in=(WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED)))
        for entry in entries:
            entry.status = WaitlistEntry.Status.CLOSED
            entry.save(update_fields=["status"])
        cancelled_per_slot = Counter(appointment.slot_id for appointment in appointments)
        for slot in slots:
            # Checked-in or completed patients of a session stopped midway keep their places.
            Slot.objects.filter(pk=slot.pk).update(booked=F("booked") - cancelled_per_slot[slot.pk], held=0)
        audit_record(action="schedule.stop", actor=actor, role=role, hospital_id=schedule.hospital_id,
                     object_type="schedule", object_id=schedule.pk,
                     detail={"reason": schedule.stop_reason, "cancelled": [a.pk for a in appointments],
                             "waitlist_closed": len(entries)})
        expert_slots_changed(schedule.expert_id)
    return len(appointments)


# --- the day: check-in, completion, no-shows --------------------------------------------------


def _appointment_locked(*, appointment_id: int | None = None, voucher: str | None = None) -> Appointment:
    queryset = Appointment.objects.select_for_update()
    if voucher is not None:
        appointment = queryset.filter(voucher_code=voucher_code_from_scan(voucher).upper()).first()
    else:
        appointment = queryset.filter(pk=appointment_id).first()
    if appointment is None:
        raise NotFoundError(_("No such appointment at this hospital."), code="not_found")
    return appointment


def appointment_check_in(*, actor, role: str, appointment_id: int | None = None,
                         voucher: str | None = None) -> Appointment:
    """Check a patient in on the day, by appointment or by the voucher's QR code."""
    with transaction.atomic():
        appointment = _appointment_locked(appointment_id=appointment_id, voucher=voucher)
        if appointment.status != Appointment.Status.BOOKED:
            raise ConflictError(_("Only a booked appointment can be checked in (this one is %(status)s).")
                                % {"status": appointment.get_status_display()}, code="not_checkable")
        if appointment.date != timezone.localdate():
            raise ConflictError(_("Check-in is on the day of the appointment (%(date)s).")
                                % {"date": appointment.date.isoformat()}, code="not_today")
        appointment.status, appointment.checked_in_at = Appointment.Status.CHECKED_IN, timezone.now()
        appointment.save(update_fields=["status", "checked_in_at"])
        audit_record(action="appointment.check_in", actor=actor, role=role, hospital_id=appointment.hospital_id,
                     object_type="appointment", object_id=appointment.pk, patient_id=appointment.patient_id)
        appointment_notify(appointment, "checked_in")
    return appointment


def appointment_complete(*, actor, role: str, appointment_id: int) -> Appointment:
    with transaction.atomic():
        appointment = _appointment_locked(appointment_id=appointment_id)
        if appointment.status != Appointment.Status.CHECKED_IN:
            raise ConflictError(_("Only a checked-in appointment can be completed."), code="not_checked_in")
        appointment.status, appointment.completed_at = Appointment.Status.COMPLETED, timezone.now()
        appointment.save(update_fields=["status", "completed_at"])
        audit_record(action="appointment.complete", actor=actor, role=role, hospital_id=appointment.hospital_id,
                     object_type="appointment", object_id=appointment.pk, patient_id=appointment.patient_id)
    return appointment


def no_shows_mark() -> int:
    """Periodic (current hospital): booked appointments whose slot ended more than the
    grace period ago without check-in become no-shows. The place is not given back:
    the time has passed. Idempotent: a second run finds nothing left to mark."""
    rules = booking_rules()
    cutoff = timezone.now() - datetime.timedelta(minutes=rules.no_show_grace_minutes)
    with transaction.atomic():
        due = list(Appointment.objects.select_for_update(skip_locked=True)
                   .filter(status=Appointment.Status.BOOKED, end__lte=cutoff).order_by("pk")[:1000])
        now = timezone.now()
        for appointment in due:
            appointment.status, appointment.no_show_at = Appointment.Status.NO_SHOW, now
            appointment.save(update_fields=["status", "no_show_at"])
            audit_record(action="appointment.no_show", hospital_id=appointment.hospital_id,
                         object_type="appointment", object_id=appointment.pk, patient_id=appointment.patient_id)
            appointment_notify(appointment, "no_show")
    return len(due)

