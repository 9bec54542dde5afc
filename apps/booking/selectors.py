"""Reads. The public catalogue (experts and their slots) is the one booking read
that crosses hospitals: it runs inside `public_catalogue()`, which lifts the tenant
scope through the audited `unscoped()` for that block only. Everything a patient or
the hospital reads about appointments is read in the hospital's own context.
"""

import datetime
from contextlib import contextmanager

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.tenancy.context import unscoped

from .cache import TIMEOUT_SECONDS, expert_version, slots_cache_key
from .models import Appointment, Expert, ExpertSearchTerm, Schedule, Slot, WaitlistEntry
from .search import query_pieces, query_words

CATALOGUE_MAX_DAYS = 31


@contextmanager
def public_catalogue(*, actor=None):
    """The catalogue's cross-hospital read. Only Expert, Schedule and Slot rows (no
    patient data) are read inside; the block writes a `tenancy.unscoped` audit event
    with this reason, and the tenant scope comes back when it ends."""
    with unscoped(reason="booking.public_catalogue", actor=actor):
        yield


CATALOGUE_MATCH_CAP = 1000


def catalogue_expert_ids(**filters) -> list[int]:
    """The ids of matching experts in listing order, at most CATALOGUE_MATCH_CAP + 1
    (one more tells the caller there are more). One query that reads no joined rows:
    the page's rows come after, by id (`catalogue_experts_by_ids`)."""
    return list(catalogue_experts(**filters).values_list("pk", flat=True)[: CATALOGUE_MATCH_CAP + 1])


def catalogue_experts_by_ids(ids: list[int]) -> list[Expert]:
    rows = Expert.objects.select_related("hospital", "department").in_bulk(ids)
    return [rows[pk] for pk in ids if pk in rows]


def catalogue_experts(*, hospital: str | None = None, department: int | None = None, title: str | None = None,
                      date: datetime.date | None = None, q: str | None = None) -> QuerySet[Expert]:
    """Active experts of active hospitals (call inside `public_catalogue()`). With a
    date, only experts with a published session that day. `q` is segmented by jieba
    and every word must match the expert's name, specialties, department or title."""
    experts = Expert.objects.filter(active=True, hospital__active=True)
    if hospital:
        experts = experts.filter(hospital__slug=hospital)
    if department:
        experts = experts.filter(department_id=department)
    if title:
        experts = experts.filter(title=title)
    if date:
        experts = experts.filter(Exists(Schedule.objects.filter(expert=OuterRef("pk"), date=date,
                                                                status=Schedule.Status.PUBLISHED)))
    words = query_words(q or "")
    if words:
        candidates = _experts_with_every_piece(words)
        if not candidates:
            return experts.none()
        # A literal id list, so the planner reads those rows by primary key and checks
        # the words on them only (with a subquery it guessed a scan of every expert).
        experts = experts.filter(pk__in=sorted(candidates))
        for word in words:
            if len(word) > 2:  # its two-character pieces are all there; is the word itself?
                experts = experts.filter(search_text__contains=word)
    return experts.order_by("title_rank", "name", "id")


def _experts_with_every_piece(words: list[str]) -> set[int]:
    """Experts whose index has every piece of every word: one indexed query per word."""
    candidates = None
    for word in words:
        pieces = query_pieces(word)
        ids = set(ExpertSearchTerm.objects.filter(term__in=pieces).values("expert_id")
                  .annotate(found=Count("term", distinct=True)).filter(found=len(pieces))
                  .values_list("expert_id", flat=True))
        candidates = ids if candidates is None else candidates & ids
        if not candidates:
            break
    return candidates or set()


def catalogue_expert(*, expert_id: int) -> Expert | None:
    return (Expert.objects.filter(pk=expert_id, active=True, hospital__active=True)
            .select_related("hospital", "department").first())


def catalogue_expert_slots(*, expert_id: int, date_from: datetime.date, date_to: datetime.date) -> list[dict]:
    """The expert's bookable-looking slots (published, not started) between two dates,
    with remaining places; cached per expert version (see cache.py). Call inside
    `public_catalogue()`."""
    version = expert_version(expert_id)
    key = slots_cache_key(expert_id, version, date_from, date_to)
    cached = cache.get(key)
    if cached is not None:
        return cached
    tz = timezone.get_current_timezone()
    slots = (Slot.objects.filter(expert_id=expert_id, schedule__status=Schedule.Status.PUBLISHED,
                                 start__gte=datetime.datetime.combine(date_from, datetime.time.min, tzinfo=tz),
                                 start__lt=datetime.datetime.combine(date_to + datetime.timedelta(days=1),
                                                                     datetime.time.min, tzinfo=tz),
                                 start__gt=timezone.now())
             .order_by("start", "pk").values("id", "start", "end", "capacity", "booked", "held"))
    rows = [{"id": row["id"], "start": row["start"].isoformat(), "end": row["end"].isoformat(),
             "capacity": row["capacity"], "remaining": max(row["capacity"] - row["booked"] - row["held"], 0)}
            for row in slots]
    cache.set(key, rows, timeout=TIMEOUT_SECONDS)
    return rows


# --- in the hospital's context -----------------------------------------------------------------


def appointments_of_user(*, user) -> QuerySet[Appointment]:
    return (Appointment.objects.filter(user=user)
            .select_related("expert__department", "hospital", "patient").order_by("-start", "-id"))


def waitlist_of_user(*, user) -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.filter(user=user).select_related("slot__expert").order_by("-created_at", "-id")


def day_list(*, date: datetime.date, expert_id: int | None = None) -> QuerySet[Appointment]:
    """The hospital's appointments of one day, in the order patients are seen."""
    appointments = (Appointment.objects.filter(date=date)
                    .select_related("expert__department", "patient", "slot").order_by("expert__name", "start",
                                                                                      "visit_number"))
    if expert_id:
        appointments = appointments.filter(expert_id=expert_id)
    return appointments


def upcoming_schedules(*, date_from: datetime.date, days: int = 14) -> QuerySet[Schedule]:
    return (Schedule.objects.filter(date__gte=date_from, date__lt=date_from + datetime.timedelta(days=days))
            .select_related("expert__department")
            .annotate(slot_count=Count("slots"))
            .order_by("date", "start_time", "expert__name"))


def schedule_slots(*, schedule_id: int) -> QuerySet[Slot]:
    return Slot.objects.filter(schedule_id=schedule_id).order_by("start")


def booking_statistics(*, date_from: datetime.date, date_to: datetime.date) -> dict:
    """Counts by status per day and per expert, and utilisation of published places."""
    appointments = Appointment.objects.filter(date__gte=date_from, date__lte=date_to)
    statuses = [status for status, _label in Appointment.Status.choices]
    by_status = dict(appointments.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    per_expert = list(appointments.values("expert__name").annotate(
        total=Count("pk"),
        attended=Count("pk", filter=Q(status__in=("checked_in", "completed"))),
        no_shows=Count("pk", filter=Q(status="no_show")),
        cancelled=Count("pk", filter=Q(status__startswith="cancelled"))).order_by("-total", "expert__name"))
    tz = timezone.get_current_timezone()
    slots = Slot.objects.filter(schedule__status=Schedule.Status.PUBLISHED,
                                start__gte=datetime.datetime.combine(date_from, datetime.time.min, tzinfo=tz),
                                start__lt=datetime.datetime.combine(date_to + datetime.timedelta(days=1),
                                                                    datetime.time.min, tzinfo=tz))
    places = sum(slots.values_list("capacity", flat=True))
    booked = sum(slots.values_list("booked", flat=True))
    return {
        "by_status": {status: by_status.get(status, 0) for status in statuses},
        "per_expert": per_expert,
        "places": places,
        "booked": booked,
        "utilisation": round(booked / places, 3) if places else None,
        "waiting": WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING,
                                                slot__start__gte=timezone.now()).count(),
    }
