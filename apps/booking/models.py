"""Experts, their schedules and slots, appointments and the waitlist.

Every model is tenant-owned (row-level security on PostgreSQL). The public
catalogue reads Expert, Schedule and Slot across hospitals through one audited
path (`selectors.catalogue_*`); everything else is read in the hospital's context.

A slot's places: `booked` (its appointments that were not cancelled: booked,
checked in, completed or no-show) plus `held` places offered to waitlisted patients
never exceed `capacity`. Both counters change only through conditional
UPDATEs in services (see `services.appointment_book`), never read-then-write.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import TenantOwnedModel


class Expert(TenantOwnedModel):
    class Title(models.TextChoices):
        CHIEF = "chief", _("Chief physician")
        ASSOCIATE_CHIEF = "associate_chief", _("Associate chief physician")
        ATTENDING = "attending", _("Attending physician")
        RESIDENT = "resident", _("Resident physician")

    # Seniority order for listings: chief physicians first.
    TITLE_RANK = {Title.CHIEF: 0, Title.ASSOCIATE_CHIEF: 1, Title.ATTENDING: 2, Title.RESIDENT: 3}

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("doctor account"))
    department = models.ForeignKey("tenancy.Department", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("department"))
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("professional title"), max_length=20, choices=Title.choices)
    title_rank = models.PositiveSmallIntegerField(default=2, editable=False)
    specialties = models.CharField(_("specialties"), max_length=500, blank=True)
    introduction = models.TextField(_("introduction"), blank=True)
    photo = models.FileField(_("photo"), upload_to="booking/experts/", blank=True)
    # jieba tokens of name, specialties, department and title, space separated and
    # lower-cased; search matches query tokens against it (services keep it current).
    search_text = models.TextField(editable=False, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title_rank", "name", "id"]
        indexes = [models.Index(fields=["hospital", "department", "title"], name="expert_hospital_dept_title"),
                   # The catalogue's listing order: a page of a broad search walks it and stops.
                   models.Index(fields=["title_rank", "name", "id"], name="expert_listing_order")]
        verbose_name = _("expert")
        verbose_name_plural = _("experts")

    def __str__(self):
        return f"{self.name} ({self.get_title_display()})"


class ExpertSearchTerm(TenantOwnedModel):
    """The search's index: every one- and two-character piece of the words in an
    expert's search text (see search.py). The experts having the query's rarest
    piece are the candidates the words are checked on, instead of every expert.

    Why not pg_trgm: under row-level security PostgreSQL uses an index only for
    leakproof operators, and LIKE (or any GIN text operator) is not one, so a trigram
    index on Expert is never used by the catalogue's queries. Text equality is
    leakproof: this table's btree serves them. On PostgreSQL the index also carries
    `hospital_id` (migration 0002), so the policy is checked without the table."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="search_terms")
    term = models.CharField(max_length=2)

    class Meta:
        indexes = [models.Index(fields=["term", "expert"], name="expert_search_term")]


class Schedule(TenantOwnedModel):
    """One session of an expert: a date and a half-day or a time window, cut into slots."""

    class Period(models.TextChoices):
        MORNING = "morning", _("Morning")
        AFTERNOON = "afternoon", _("Afternoon")
        EVENING = "evening", _("Evening")
        CUSTOM = "custom", _("Time window")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        STOPPED = "stopped", _("Stopped")

    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="schedules", verbose_name=_("expert"))
    date = models.DateField(_("date"))
    period = models.CharField(_("period"), max_length=10, choices=Period.choices, default=Period.MORNING)
    start_time = models.TimeField(_("start time"))
    end_time = models.TimeField(_("end time"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    stop_reason = models.CharField(_("reason for stopping"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "start_time", "id"]
        indexes = [models.Index(fields=["hospital", "date", "status"], name="schedule_hospital_date"),
                   # The catalogue's date filter, across hospitals.
                   models.Index(fields=["date", "expert"], condition=Q(status="published"),
                                name="schedule_published_day")]
        constraints = [models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="schedule_ends_after_start")]
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")

    def __str__(self):
        return f"{self.expert.name} {self.date} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class Slot(TenantOwnedModel):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="slots", verbose_name=_("schedule"))
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="slots", verbose_name=_("expert"))
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    capacity = models.PositiveIntegerField(_("capacity"))
    booked = models.PositiveIntegerField(_("booked"), default=0)
    held = models.PositiveIntegerField(_("held for the waitlist"), default=0)
    # The last visit number handed out; numbers are never reused, so a cancellation
    # leaves a gap rather than two patients with the same number.
    last_visit_number = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["start", "id"]
        indexes = [models.Index(fields=["expert", "start"], name="slot_expert_start")]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="slot_ends_after_start"),
            # The database's own guard: even a bug in a service cannot overbook.
            models.CheckConstraint(condition=Q(booked__lte=F("capacity") - F("held")), name="slot_never_overbooked"),
        ]
        verbose_name = _("slot")
        verbose_name_plural = _("slots")

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked - self.held, 0)

    def __str__(self):
        return f"{self.expert_id} {self.start:%Y-%m-%d %H:%M}"


ACTIVE_STATUSES = ("booked", "checked_in")


class Appointment(TenantOwnedModel):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CHECKED_IN = "checked_in", _("Checked in")
        COMPLETED = "completed", _("Completed")
        CANCELLED_BY_PATIENT = "cancelled_by_patient", _("Cancelled by patient")
        CANCELLED_BY_HOSPITAL = "cancelled_by_hospital", _("Cancelled by hospital")
        NO_SHOW = "no_show", _("No-show")

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("slot"))
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="+", verbose_name=_("expert"))
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("patient"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("booked by"))
    # Copied from the slot so the per-day and overlap rules are plain indexed queries.
    date = models.DateField(_("date"))
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    visit_number = models.PositiveIntegerField(_("visit number"))
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.BOOKED)
    voucher_code = models.CharField(_("voucher code"), max_length=32, unique=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    booked_at = models.DateTimeField(auto_now_add=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-start", "-id"]
        indexes = [
            models.Index(fields=["hospital", "user", "-start"], name="appointment_user_recent"),
            models.Index(fields=["hospital", "date", "status"], name="appointment_day_status"),
            models.Index(fields=["patient", "start"], name="appointment_patient_start"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["slot", "visit_number"], name="appointment_visit_number_unique"),
            models.UniqueConstraint(fields=["hospital", "user", "idempotency_key"], condition=~Q(idempotency_key=""),
                                    name="appointment_idempotency_key_unique"),
            # The same patient cannot hold two live places in one slot, whatever races.
            models.UniqueConstraint(fields=["slot", "patient"], condition=Q(status__in=ACTIVE_STATUSES),
                                    name="appointment_one_live_per_slot"),
        ]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def __str__(self):
        return f"{self.voucher_code} #{self.visit_number}"


class WaitlistEntry(TenantOwnedModel):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offered")
        ACCEPTED = "accepted", _("Accepted")
        EXPIRED = "expired", _("Offer expired")
        LEFT = "left", _("Left the waitlist")
        CLOSED = "closed", _("Closed")

    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="waitlist", verbose_name=_("slot"))
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("patient"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["slot", "status", "created_at"], name="waitlist_slot_queue"),
                   models.Index(fields=["status", "offer_expires_at"], name="waitlist_offer_expiry")]
        constraints = [models.UniqueConstraint(fields=["slot", "patient"], condition=Q(status__in=("waiting", "offered")),
                                               name="waitlist_one_live_entry_per_slot")]
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
