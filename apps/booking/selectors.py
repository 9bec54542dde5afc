"""Reads. The public catalogue (experts and their slots) is the one booking read
that crosses hospitals: it runs inside `public_catalogue()`, which lifts the tenant
scope through the audited `unscoped()` for that block only. Everything a patient or
the hospital reads about appointments is read in the hospital's own context.
"""

import datetime
from contextlib import contextmanager

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import StrIndex
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
# A query's index piece shared by more experts than this narrows the search too
# little to be worth joining: the listing order is walked instead.
SEARCH_CANDIDATE_LIMIT = 1000
SEARCH_PROBED_PIECES = 12


def catalogue_experts(*, hospital: str | None = None, department: int | None = None, title: str | None = None,
                      date: datetime.date | None = None, q: str | None = None) -> QuerySet[Expert]:
    """Active experts of active hospitals, in listing order (call inside
    `public_catalogue()`). With a date, only experts with a published session that
    day. `q` is segmented by jieba and every word must occur in the expert's search
    text (name, specialties, department, title).

    Everything is decided in the database: one probe finds the query's rarest index
    piece, whose experts are the candidates (joined by primary key), and each word
    is checked on the candidates. Callers count and slice this queryset
    (`catalogue_count`, `catalogue_page`); no list of ids passes through Python."""
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
        piece, postings = _rarest_piece(words)
        if postings == 0:  # a word that no expert has
            return experts.none()
        if postings <= SEARCH_CANDIDATE_LIMIT:
            experts = experts.filter(pk__in=ExpertSearchTerm.objects.filter(term=piece).values("expert_id"))
        for index, word in enumerate(words):
            # strpos (instr on SQLite) rather than LIKE: no wildcards to escape, and
            # PostgreSQL's estimate for it keeps the plan on the candidates' primary
            # keys (LIKE '%...%' looked so rare that it chose to scan every expert).
            experts = experts.alias(**{f"word_{index}": StrIndex("search_text", Value(word))}).filter(
                **{f"word_{index}__gt": 0})
    return experts.order_by("title_rank", "name", "id")


def _rarest_piece(words: list[str]) -> tuple[str, int]:
    """The query's index piece shared by the fewest experts, and by how many
    (counted up to SEARCH_CANDIDATE_LIMIT + 1). One statement, index-only on
    PostgreSQL; each count stops at the limit, so a common piece costs no more than
    a rare one."""
    pieces = []
    for word in words:
        pieces += [piece for piece in sorted(query_pieces(word)) if piece not in pieces]
    pieces = pieces[:SEARCH_PROBED_PIECES]
    table = connection.ops.quote_name(ExpertSearchTerm._meta.db_table)
    probes = ", ".join(f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE term = %s "
                       f"LIMIT {SEARCH_CANDIDATE_LIMIT + 1}) AS piece_{n})" for n in range(len(pieces)))
    with connection.cursor() as cursor:
        # Row-level security applies as to any statement; the catalogue's scope lets
        # it count across hospitals.
        cursor.execute(f"SELECT {probes}", pieces)
        counts = cursor.fetchone()
    return min(zip(pieces, counts, strict=True), key=lambda pair: pair[1])


def catalogue_count(experts: QuerySet[Expert]) -> int:
    """How many experts match, counted up to CATALOGUE_MATCH_CAP + 1 (in no
    particular order: the first that match are enough)."""
    return experts.order_by().values("pk")[: CATALOGUE_MATCH_CAP + 1].count()


def catalogue_page(experts: QuerySet[Expert], *, date: datetime.date | None = None) -> QuerySet[Expert]:
    """What a catalogue page shows: the expert's columns with its hospital and
    department, and its next slot with a free place (of that date, with a date
    filter) as `next_free_slot_id` / `next_free_slot_start`. Slice it: PostgreSQL
    runs the subqueries for the page's rows only, and `catalogue_count` leaves the
    joins and subqueries out."""
    free = Slot.objects.filter(expert=OuterRef("pk"), start__gt=timezone.now(),
                               schedule__status=Schedule.Status.PUBLISHED, booked__lt=F("capacity") - F("held"))
    if date:
        tz = timezone.get_current_timezone()
        day_start = datetime.datetime.combine(date, datetime.time.min, tzinfo=tz)
        free = free.filter(start__gte=day_start, start__lt=day_start + datetime.timedelta(days=1))
    free = free.order_by("start", "pk")
    return (experts.select_related("hospital", "department")
            .only("name", "title", "specialties", "introduction", "photo", "hospital__slug", "hospital__name",
                  "department__name")
            .annotate(next_free_slot_id=Subquery(free.values("pk")[:1]),
                      next_free_slot_start=Subquery(free.values("start")[:1])))


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
