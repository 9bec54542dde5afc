"""Patient-side booking: book, cancel, the waitlist. Every write is audited.

Capacity: a slot's `booked + held` never exceeds `capacity`. Taking a place is one
conditional UPDATE (`... WHERE booked < capacity - held`) whose row count says
whether a place was left; giving one back is an UPDATE under the slot's row lock.
Nothing reads a count and then writes it, so any number of concurrent requests on
PostgreSQL book exactly the places there are (tests/apps/booking/test_concurrency.py).

Lock order, so concurrent operations cannot deadlock: the booking user's row, then
an appointment or waitlist entry, then the slot.
"""

import datetime
import functools
import hashlib
import json
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.exceptions import ConflictError, DomainError, NotFoundError, PermissionDeniedError
from apps.patients.models import Patient
from apps.patients.services import patient_create
from apps.patients.validators import national_id_facts
from apps.privacy.encryption import blind_index
from apps.privacy.services import audit_record

from .cache import expert_slots_changed
from .models import ACTIVE_STATUSES, Appointment, Schedule, Slot, WaitlistEntry
from .notifications import appointment_notify, waitlist_notify
from .rules import BookingRules, booking_rules

DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE


@dataclass(frozen=True)
class PatientDetails:
    """What the patient typed; the national ID is already checked (GB 11643)."""

    name: str
    national_id: str
    phone: str = ""


def request_fingerprint(*, slot_id: int, details: PatientDetails) -> str:
    """Identifies a booking request's content, to tell a replay from a misused key."""
    payload = json.dumps([slot_id, details.name, details.national_id.upper(), details.phone])
    return hashlib.sha256(payload.encode()).hexdigest()


# --- shared checks ---------------------------------------------------------------------


def _lock_user(user) -> None:
    # Serialises one account's bookings: the per-day and overlap rules and the
    # find-or-create of the patient record are then race-free for that account.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def _slot_for_booking(slot_id: int, rules: BookingRules, now: datetime.datetime) -> Slot:
    slot = Slot.objects.select_related("schedule", "expert__department").filter(pk=slot_id).first()
    if slot is None:
        raise NotFoundError(_("No such slot at this hospital."), code="not_found")
    if slot.schedule.status == Schedule.Status.STOPPED:
        raise ConflictError(_("The hospital has closed this session; choose another time."), code="slot_closed")
    if slot.schedule.status != Schedule.Status.PUBLISHED:
        raise ConflictError(_("This slot is not open for booking."), code="slot_not_published")
    if slot.start <= now:
        raise DomainError(_("This slot has already started; choose a later one."), code="slot_in_past")
    opens_at = rules.opens_at(timezone.localdate(slot.start))
    if now < opens_at:
        raise DomainError(_("This slot opens for booking at %(opens)s.")
                          % {"opens": timezone.localtime(opens_at).strftime("%Y-%m-%d %H:%M")},
                          code="outside_booking_window", fields={"opens_at": [opens_at.isoformat()]})
    return slot


def _patient_of_caller(*, user, details: PatientDetails) -> Patient | None:
    """The caller's existing record at this hospital for these details, found by the
    national ID's blind index (None: there is none yet). A record that belongs to
    another account is refused rather than shared."""
    index = blind_index(details.national_id, kind="national_id")
    patient = Patient.objects.filter(national_id_index=index).order_by("pk").first()
    if patient is not None and patient.user_id not in (None, user.pk):
        raise PermissionDeniedError(
            _("This national ID number is registered to another account; book from that account."),
            code="patient_of_another_account")
    return patient


def _new_patient(*, user, hospital_id: int, details: PatientDetails, role: str) -> Patient:
    birth_date, sex = national_id_facts(details.national_id)
    return patient_create(hospital_id=hospital_id, name=details.name, sex=sex, birth_date=birth_date,
                          national_id=details.national_id.upper(), phone=details.phone, user=user, actor=user,
                          role=role)


def _retry_on_deadlock(service):
    """Run a write again (at most three times) when PostgreSQL broke a deadlock by
    aborting it. Each audit event locks one of the hospital's chain heads, picked at
    random, until commit; two transactions that each write two events can take two
    heads in opposite orders. The service's savepoint makes the retry clean: nothing
    of the aborted attempt (rows, locks, on-commit events) survives it."""

    @functools.wraps(service)
    def wrapped(**kwargs):
        for attempt in range(3):
            try:
                return service(**kwargs)
            except OperationalError as error:
                if getattr(error.__cause__, "pgcode", None) != DEADLOCK_DETECTED or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    return wrapped


def _check_no_show_block(patient: Patient, rules: BookingRules, now: datetime.datetime) -> None:
    if rules.no_show_limit <= 0:
        return
    since = now - datetime.timedelta(days=rules.no_show_window_days)
    no_shows = list(Appointment.objects.filter(patient=patient, status=Appointment.Status.NO_SHOW,
                                               no_show_at__gte=since).order_by("-no_show_at")
                    .values_list("no_show_at", flat=True)[: rules.no_show_limit])
    if len(no_shows) >= rules.no_show_limit:
        blocked_until = no_shows[0] + datetime.timedelta(days=rules.no_show_block_days)
        if now < blocked_until:
            raise PermissionDeniedError(
                _("Booking is paused after %(count)s missed appointments, until %(until)s.")
                % {"count": rules.no_show_limit, "until": timezone.localtime(blocked_until).strftime("%Y-%m-%d")},
                code="booking_blocked", fields={"blocked_until": [blocked_until.isoformat()]})


def _check_patient_rules(patient: Patient, slot: Slot, rules: BookingRules) -> None:
    live = Appointment.objects.filter(patient=patient, status__in=ACTIVE_STATUSES)
    if live.filter(slot=slot).exists():
        raise ConflictError(_("You have already booked this slot."), code="already_booked")
    if rules.one_per_expert_per_day and live.filter(expert_id=slot.expert_id,
                                                    date=timezone.localdate(slot.start)).exists():
        raise ConflictError(_("You already have a booking with this expert on this day."), code="already_booked")
    if rules.forbid_overlap and live.filter(start__lt=slot.end, end__gt=slot.start).exists():
        raise ConflictError(_("You have another booking at this time."), code="overlapping_booking")


def _take_place(slot: Slot, *, from_hold: bool) -> int:
    """Take one place (a free one, or one held for a waitlist offer); return its visit
    number. One conditional UPDATE: no place, no row updated."""
    if from_hold:
        places = Slot.objects.filter(pk=slot.pk, held__gte=1)
        changes = {"held": F("held") - 1}
    else:
        places = Slot.objects.filter(pk=slot.pk, booked__lt=F("capacity") - F("held"))
        changes = {}
    if not places.update(booked=F("booked") + 1, last_visit_number=F("last_visit_number") + 1, **changes):
        raise ConflictError(_("This slot has no place left; choose another time or join its waitlist."),
                            code="slot_full")
    # Our UPDATE holds the row lock until commit, so this reads our own number.
    return Slot.objects.filter(pk=slot.pk).values_list("last_visit_number", flat=True).get()


def _create_appointment(*, slot: Slot, patient: Patient, user, visit_number: int, idempotency_key: str,
                        fingerprint: str) -> Appointment:
    return Appointment.objects.create(
        hospital_id=slot.hospital_id, slot=slot, expert_id=slot.expert_id, patient=patient, user=user,
        date=timezone.localdate(slot.start), start=slot.start, end=slot.end, visit_number=visit_number,
        voucher_code=secrets.token_hex(8).upper(), idempotency_key=idempotency_key,
        request_fingerprint=fingerprint)


def _check_idempotency(*, user, idempotency_key: str, fingerprint: str) -> None:
    if not idempotency_key:
        return
    earlier = Appointment.objects.filter(user=user, idempotency_key=idempotency_key).first()
    if earlier is None:
        return
    if earlier.request_fingerprint != fingerprint:
        raise DomainError(_("This Idempotency-Key was used for a different request; use a new key."),
                          code="idempotency_key_reused")
    raise ConflictError(_("This request was already made (appointment %(id)s); it was not repeated.")
                        % {"id": earlier.pk}, code="duplicate_request", fields={"appointment": [str(earlier.pk)]})


# --- booking and cancelling --------------------------------------------------------------


@_retry_on_deadlock
def appointment_book(*, user, role: str, hospital_id: int, slot_id: int, details: PatientDetails,
                     idempotency_key: str = "") -> Appointment:
    """Book a place in a slot for the caller's patient record; raises a DomainError
    with a code (slot_full, already_booked, ...) and writes nothing when refused."""
    rules, now = booking_rules(), timezone.now()
    fingerprint = request_fingerprint(slot_id=slot_id, details=details)
    try:
        with transaction.atomic():
            _lock_user(user)
            _check_idempotency(user=user, idempotency_key=idempotency_key, fingerprint=fingerprint)
            slot = _slot_for_booking(slot_id, rules, now)
            patient = _patient_of_caller(user=user, details=details)
            if patient is not None:
                _check_no_show_block(patient, rules, now)
                _check_patient_rules(patient, slot, rules)
            # The slot's row lock comes before any audit chain head (patient.create
            # below audits): taking them in the other order deadlocks with a booking
            # that holds the slot and waits for that head.
            visit_number = _take_place(slot, from_hold=False)
            if patient is None:
                patient = _new_patient(user=user, hospital_id=hospital_id, details=details, role=role)
            appointment = _create_appointment(slot=slot, patient=patient, user=user, visit_number=visit_number,
                                              idempotency_key=idempotency_key, fingerprint=fingerprint)
            audit_record(action="appointment.book", actor=user, role=role, hospital_id=hospital_id,
                         object_type="appointment", object_id=appointment.pk, patient_id=patient.pk,
                         detail={"slot": slot.pk, "visit_number": visit_number})
            expert_slots_changed(slot.expert_id)
            appointment_notify(appointment, "booked")
    except IntegrityError as error:
        # Only a uniqueness rule the locks above already enforce can get here (a second
        # account racing with the same patient); report it as what it is.
        raise ConflictError(_("You have already booked this slot."), code="already_booked") from error
    return appointment


def appointment_get_for_user(*, user, appointment_id: int) -> Appointment:
    appointment = (Appointment.objects.select_related("slot", "expert__department", "patient")
                   .filter(pk=appointment_id, user=user).first())
    if appointment is None:
        raise NotFoundError(_("No such appointment."), code="not_found")
    return appointment


def _give_back_place(slot_id: int, *, offer_minutes: int) -> WaitlistEntry | None:
    """A booked place came free: offer it to the first patient waiting (held for
    them), else release it. Returns the entry offered the place, if any."""
    slot = Slot.objects.select_for_update().get(pk=slot_id)
    entry = _next_waiting(slot)
    if entry is None:
        Slot.objects.filter(pk=slot.pk).update(booked=F("booked") - 1)
        return None
    Slot.objects.filter(pk=slot.pk).update(booked=F("booked") - 1, held=F("held") + 1)
    _offer(entry, offer_minutes)
    return entry


def _next_waiting(slot: Slot) -> WaitlistEntry | None:
    if slot.start <= timezone.now():
        return None
    return (WaitlistEntry.objects.select_for_update().filter(slot=slot, status=WaitlistEntry.Status.WAITING)
            .order_by("created_at", "pk").first())


def _offer(entry: WaitlistEntry, offer_minutes: int) -> None:
    now = timezone.now()
    entry.status, entry.offered_at = WaitlistEntry.Status.OFFERED, now
    entry.offer_expires_at = now + datetime.timedelta(minutes=offer_minutes)
    entry.save(update_fields=["status", "offered_at", "offer_expires_at"])
    audit_record(action="waitlist.offer", hospital_id=entry.hospital_id, object_type="waitlist_entry",
                 object_id=entry.pk, patient_id=entry.patient_id,
                 detail={"slot": entry.slot_id, "expires_at": entry.offer_expires_at.isoformat()})
    waitlist_notify(entry, "waitlist_offer")


@_retry_on_deadlock
def appointment_cancel(*, user, role: str, appointment_id: int) -> Appointment:
    """The patient cancels their own booking before the hospital's deadline."""
    rules = booking_rules()
    with transaction.atomic():
        _lock_user(user)
        appointment = (Appointment.objects.select_for_update().filter(pk=appointment_id, user=user).first())
        if appointment is None:
            raise NotFoundError(_("No such appointment."), code="not_found")
        if appointment.status != Appointment.Status.BOOKED:
            raise ConflictError(_("This appointment can no longer be cancelled (it is %(status)s).")
                                % {"status": appointment.get_status_display()}, code="not_cancellable")
        deadline = rules.cancellation_deadline(appointment.date)
        if timezone.now() > deadline:
            raise ConflictError(_("The cancellation deadline (%(deadline)s) has passed; contact the hospital.")
                                % {"deadline": timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M")},
                                code="cancellation_deadline_passed")
        appointment.status = Appointment.Status.CANCELLED_BY_PATIENT
        appointment.cancelled_at = timezone.now()
        appointment.save(update_fields=["status", "cancelled_at"])
        offered = _give_back_place(appointment.slot_id, offer_minutes=rules.waitlist_offer_minutes)
        audit_record(action="appointment.cancel", actor=user, role=role, hospital_id=appointment.hospital_id,
                     object_type="appointment", object_id=appointment.pk, patient_id=appointment.patient_id,
                     detail={"slot": appointment.slot_id, "offered_to": offered.pk if offered else None})
        expert_slots_changed(appointment.expert_id)
        appointment_notify(appointment, "cancelled")
    return appointment


# --- waitlist ------------------------------------------------------------------------------


@_retry_on_deadlock
def waitlist_join(*, user, role: str, hospital_id: int, slot_id: int, details: PatientDetails) -> WaitlistEntry:
    """Queue for a full slot; a place freed later is offered in joining order."""
    rules, now = booking_rules(), timezone.now()
    try:
        with transaction.atomic():
            _lock_user(user)
            slot = _slot_for_booking(slot_id, rules, now)
            if slot.remaining > 0:
                raise ConflictError(_("This slot still has places; book it directly."), code="slot_available")
            patient = _patient_of_caller(user=user, details=details)
            if patient is None:
                patient = _new_patient(user=user, hospital_id=hospital_id, details=details, role=role)
            _check_no_show_block(patient, rules, now)
            _check_patient_rules(patient, slot, rules)
            if WaitlistEntry.objects.filter(slot=slot, patient=patient,
                                            status__in=(WaitlistEntry.Status.WAITING,
                                                        WaitlistEntry.Status.OFFERED)).exists():
                raise ConflictError(_("You are already on this slot's waitlist."), code="already_waitlisted")
            entry = WaitlistEntry.objects.create(hospital_id=hospital_id, slot=slot, patient=patient, user=user)
            audit_record(action="waitlist.join", actor=user, role=role, hospital_id=hospital_id,
                         object_type="waitlist_entry", object_id=entry.pk, patient_id=patient.pk,
                         detail={"slot": slot.pk})
    except IntegrityError as error:
        raise ConflictError(_("You are already on this slot's waitlist."), code="already_waitlisted") from error
    return entry


def waitlist_position(entry: WaitlistEntry) -> int | None:
    if entry.status != WaitlistEntry.Status.WAITING:
        return None
    ahead = Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, pk__lte=entry.pk)
    return WaitlistEntry.objects.filter(ahead, slot_id=entry.slot_id, status=WaitlistEntry.Status.WAITING).count()


@_retry_on_deadlock
def waitlist_accept(*, user, role: str, entry_id: int, idempotency_key: str = "") -> Appointment:
    """Take the place offered: it becomes a booking with the next visit number."""
    rules, now = booking_rules(), timezone.now()
    with transaction.atomic():
        _lock_user(user)
        entry = WaitlistEntry.objects.select_for_update().filter(pk=entry_id, user=user).first()
        if entry is None:
            raise NotFoundError(_("No such waitlist entry."), code="not_found")
        if entry.status != WaitlistEntry.Status.OFFERED or entry.offer_expires_at <= now:
            raise ConflictError(_("There is no open offer on this entry (it may have expired)."),
                                code="no_open_offer")
        slot = Slot.objects.select_related("schedule").get(pk=entry.slot_id)
        if slot.start <= now:
            raise DomainError(_("This slot has already started; choose a later one."), code="slot_in_past")
        _check_patient_rules(entry.patient, slot, rules)
        visit_number = _take_place(slot, from_hold=True)
        appointment = _create_appointment(slot=slot, patient=entry.patient, user=user, visit_number=visit_number,
                                          idempotency_key=idempotency_key, fingerprint="")
        entry.status, entry.appointment = WaitlistEntry.Status.ACCEPTED, appointment
        entry.save(update_fields=["status", "appointment"])
        audit_record(action="waitlist.accept", actor=user, role=role, hospital_id=entry.hospital_id,
                     object_type="appointment", object_id=appointment.pk, patient_id=entry.patient_id,
                     detail={"waitlist_entry": entry.pk, "slot": slot.pk, "visit_number": visit_number})
        expert_slots_changed(slot.expert_id)
        appointment_notify(appointment, "booked")
    return appointment


@_retry_on_deadlock
def waitlist_leave(*, user, role: str, entry_id: int) -> WaitlistEntry:
    """Leave the queue; an open offer passes to the next in line."""
    rules = booking_rules()
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().filter(pk=entry_id, user=user).first()
        if entry is None:
            raise NotFoundError(_("No such waitlist entry."), code="not_found")
        if entry.status not in (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED):
            raise ConflictError(_("You are no longer on this waitlist."), code="not_waiting")
        had_offer = entry.status == WaitlistEntry.Status.OFFERED
        entry.status = WaitlistEntry.Status.LEFT
        entry.save(update_fields=["status"])
        if had_offer:
            _pass_on_held_place(entry.slot_id, rules.waitlist_offer_minutes)
        audit_record(action="waitlist.leave", actor=user, role=role, hospital_id=entry.hospital_id,
                     object_type="waitlist_entry", object_id=entry.pk, patient_id=entry.patient_id)
    return entry


def _pass_on_held_place(slot_id: int, offer_minutes: int) -> WaitlistEntry | None:
    """A held place's offer ended: offer it to the next in line, else free it."""
    slot = Slot.objects.select_for_update().get(pk=slot_id)
    entry = _next_waiting(slot)
    if entry is None:
        Slot.objects.filter(pk=slot.pk).update(held=F("held") - 1)
    else:
        _offer(entry, offer_minutes)
    expert_slots_changed(slot.expert_id)
    return entry


def waitlist_offers_expire() -> int:
    """Periodic (current hospital): offers past their window expire and move on.
    Each entry in its own transaction, skipping rows another sweep holds."""
    rules, expired = booking_rules(), 0
    while True:
        with transaction.atomic():
            entry = (WaitlistEntry.objects.select_for_update(skip_locked=True)
                     .filter(status=WaitlistEntry.Status.OFFERED, offer_expires_at__lte=timezone.now())
                     .order_by("offer_expires_at", "pk").first())
            if entry is None:
                return expired
            entry.status = WaitlistEntry.Status.EXPIRED
            entry.save(update_fields=["status"])
            audit_record(action="waitlist.offer_expire", hospital_id=entry.hospital_id,
                         object_type="waitlist_entry", object_id=entry.pk, patient_id=entry.patient_id)
            waitlist_notify(entry, "waitlist_expired")
            _pass_on_held_place(entry.slot_id, rules.waitlist_offer_minutes)
            expired += 1
