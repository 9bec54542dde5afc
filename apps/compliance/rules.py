"""Violation rules over audit events.

Each rule takes the new events (`batch`) and a RuleContext, and returns CaseDrafts.
Rules are pure: everything they need beyond the events (settings, care links,
memberships, watch lists, consent, earlier events for windows) comes from the
context, which detection.py backs with the database and the benchmark with
generated data. Every draft has a dedup key, so running a rule twice over the same
events opens nothing new.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from apps.tenancy.roles import STAFF_ROLES

from .events import LOGIN_ACTIONS, EventRow
from .geo import NOT_A_COUNTRY, country_of
from .models import Severity

STAFF = frozenset(STAFF_ROLES)
_EVIDENCE_EVENTS = 50


@dataclass
class CaseDraft:
    rule: str
    severity: str
    dedup_key: str
    summary: str
    actor_id: int | None = None
    actor_username: str = ""
    patient_id: int | None = None
    first_event_at: datetime | None = None
    event_ids: list = field(default_factory=list)
    evidence: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MembershipInfo:
    role: str
    department_id: int | None
    active: bool
    revoked_at: datetime | None


class RuleContext(Protocol):
    def setting(self, key: str): ...
    def local(self, moment: datetime) -> datetime: ...
    def care_links(self, pairs: set, *, at: datetime) -> dict: ...  # pair -> provider name
    def membership(self, user_id: int) -> MembershipInfo | None: ...
    def staff_profile(self, user_id: int) -> tuple[str, str, int | None, int | None]: ...  # surname, area, start, end
    def patient_watch(self, patient_id: int) -> tuple[bool, str, str]: ...  # vip, area, surname
    def patient_department(self, patient_id: int, *, at: datetime) -> int | None: ...
    def consent_granted(self, patient_id: int, purpose: str, *, at: datetime) -> bool: ...
    def actor_events(self, actor_ids: set, *, since: datetime, until: datetime) -> list[EventRow]: ...
    def failed_logins(self, usernames: set, *, since: datetime, until: datetime) -> list[EventRow]: ...
    def token_events(self, token_ids: set, *, since: datetime, until: datetime) -> list[EventRow]: ...
    def user_id_for(self, username: str) -> int | None: ...


# Compound surnames first: 欧阳明 is 欧阳, not 欧.
_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "夏侯", "令狐",
                      "宇文", "端木", "司徒", "申屠", "轩辕", "独孤", "南宫", "西门")


def chinese_surname(name: str) -> str:
    name = (name or "").strip()
    if not name:
        return ""
    if not "\u4e00" <= name[0] <= "\u9fff":
        return name.split()[-1].lower()  # a Latin-script name: family name last
    return next((s for s in _COMPOUND_SURNAMES if name.startswith(s)), name[0])


def _day(ctx, event) -> str:
    return ctx.local(event.occurred_at).date().isoformat()


def _patient_reads(batch, ctx):
    """Successful staff events that opened one patient's record."""
    return [e for e in batch if e.patient_id is not None and e.outcome == "success" and e.actor_id is not None
            and e.role in STAFF and not e.action.endswith(".create")]


def rule_no_care_relationship(batch, ctx, links) -> list[CaseDraft]:
    roles = {r.strip() for r in ctx.setting("compliance.care_link_roles").split(",") if r.strip()}
    drafts = {}
    for event in _patient_reads(batch, ctx):
        if event.role not in roles or (event.actor_id, event.patient_id) in links:
            continue
        if ctx.patient_watch(event.patient_id)[0]:
            continue  # VIP records have their own, stricter rule
        key = f"no_care:{event.actor_id}:{event.patient_id}:{_day(ctx, event)}"
        draft = drafts.setdefault(key, CaseDraft(
            "no_care_relationship", Severity.MEDIUM, key,
            "Patient record opened with no encounter, diagnosis, report or assignment linking staff and patient",
            event.actor_id, event.actor_username, event.patient_id, event.occurred_at,
            evidence={"role": event.role, "checked_providers": "care_links"}))
        draft.event_ids.append(event.id)
    return list(drafts.values())


def _sliding_exceed(events, weight, window: timedelta, threshold: int):
    """The first event at which the weighted count within `window` exceeds
    `threshold`, with that count and the window's events; None if it never does."""
    start, total = 0, 0
    for end, event in enumerate(events):
        total += weight(event)
        while event.occurred_at - events[start].occurred_at > window:
            total -= weight(events[start])
            start += 1
        if total > threshold:
            return event, total, events[start:end + 1]
    return None


def _bucket(moment: datetime, window: timedelta) -> int:
    return int(moment.timestamp() // window.total_seconds())


def rule_bulk_access(batch, ctx) -> list[CaseDraft]:
    window = timedelta(minutes=ctx.setting("compliance.bulk_window_minutes"))
    actors = {e.actor_id for e in batch if e.actor_id is not None and e.patients}
    if not actors:
        return []
    since = min(e.occurred_at for e in batch) - window
    until = max(e.occurred_at for e in batch)
    by_actor = defaultdict(list)
    for event in ctx.actor_events(actors, since=since, until=until):
        if event.outcome == "success" and event.patients:
            by_actor[event.actor_id].append(event)
    drafts = []
    for actor, events in by_actor.items():
        events.sort(key=lambda e: e.occurred_at)
        role = events[-1].role
        try:
            threshold = ctx.setting(f"compliance.bulk_threshold_{role}")
        except KeyError:
            continue
        found = _sliding_exceed(events, lambda e: len(e.patients), window, threshold)
        if found is None:
            continue
        event, total, in_window = found
        key = f"bulk:{actor}:{_bucket(event.occurred_at, window)}"
        drafts.append(CaseDraft(
            "bulk_access", Severity.HIGH, key, f"{total} patient records read or exported within {window}",
            actor, event.actor_username, None, in_window[0].occurred_at,
            [e.id for e in in_window[-_EVIDENCE_EVENTS:]],
            {"records": total, "threshold": threshold, "window_minutes": int(window.total_seconds() // 60),
             "role": role, "exports": sum(1 for e in in_window if e.deidentified is not None or e.purpose)}))
    return drafts


def within_hours(hour: int, start: int, end: int) -> bool:
    """[start, end) in local hours; a start after the end is a shift over midnight
    (20 to 8: 20:00 until 07:59 the next morning)."""
    return start <= hour < end if start <= end else (hour >= start or hour < end)


def rule_outside_working_hours(batch, ctx) -> list[CaseDraft]:
    default_start, default_end = ctx.setting("compliance.working_hours")
    drafts = {}
    for event in batch:
        if event.actor_id is None or event.role not in STAFF or not event.patients or event.outcome != "success":
            continue
        _surname, _area, start, end = ctx.staff_profile(event.actor_id)
        start = default_start if start is None else start
        end = default_end if end is None else end
        local = ctx.local(event.occurred_at)
        if within_hours(local.hour, start, end):
            continue
        key = f"hours:{event.actor_id}:{local.date().isoformat()}"
        draft = drafts.setdefault(key, CaseDraft(
            "outside_working_hours", Severity.LOW, key, "Patient data accessed outside working hours",
            event.actor_id, event.actor_username, event.patient_id, event.occurred_at,
            evidence={"working_hours": [start, end], "local_times": []}))
        draft.event_ids.append(event.id)
        if len(draft.evidence["local_times"]) < _EVIDENCE_EVENTS:
            draft.evidence["local_times"].append(local.strftime("%H:%M"))
    return list(drafts.values())


def rule_outside_department(batch, ctx, links) -> list[CaseDraft]:
    """A care link exists (e.g. the doctor treated the patient last year), but the
    patient is now treated in another department and the link is not that one."""
    drafts = {}
    for event in _patient_reads(batch, ctx):
        provider = links.get((event.actor_id, event.patient_id))
        if provider is None or provider.endswith("department_encounter"):
            continue
        membership = ctx.membership(event.actor_id)
        if membership is None or membership.department_id is None:
            continue
        current = ctx.patient_department(event.patient_id, at=event.occurred_at)
        if current is None or current == membership.department_id:
            continue
        key = f"department:{event.actor_id}:{event.patient_id}:{_day(ctx, event)}"
        draft = drafts.setdefault(key, CaseDraft(
            "outside_department", Severity.LOW, key, "Record of a patient treated in another department opened",
            event.actor_id, event.actor_username, event.patient_id, event.occurred_at,
            evidence={"staff_department": membership.department_id, "patient_department": current,
                      "link": provider}))
        draft.event_ids.append(event.id)
    return list(drafts.values())


def _folded(text: str) -> str:
    """Watch-list entries are typed by people: " Smith" and "smith" are one surname
    (chinese_surname gives Latin-script surnames lowercased)."""
    return (text or "").strip().casefold()


def rule_relative_or_neighbour(batch, ctx) -> list[CaseDraft]:
    drafts = {}
    for event in _patient_reads(batch, ctx):
        surname, area, _s, _e = ctx.staff_profile(event.actor_id)
        if not surname or not area:
            continue
        _vip, patient_area, patient_surname = ctx.patient_watch(event.patient_id)
        if _folded(surname) != _folded(patient_surname) or _folded(area) != _folded(patient_area):
            continue
        key = f"relative:{event.actor_id}:{event.patient_id}"
        draft = drafts.setdefault(key, CaseDraft(
            "relative_or_neighbour", Severity.MEDIUM, key,
            "Staff member opened the record of a patient with the same surname and address area",
            event.actor_id, event.actor_username, event.patient_id, event.occurred_at,
            evidence={"surname": surname, "address_area": area}))
        draft.event_ids.append(event.id)
    return list(drafts.values())


def rule_vip_record(batch, ctx, links) -> list[CaseDraft]:
    drafts = {}
    for event in _patient_reads(batch, ctx):
        if not ctx.patient_watch(event.patient_id)[0] or (event.actor_id, event.patient_id) in links:
            continue
        key = f"vip:{event.actor_id}:{event.patient_id}:{_day(ctx, event)}"
        draft = drafts.setdefault(key, CaseDraft(
            "vip_record", Severity.HIGH, key, "VIP-sensitive record opened without a care relationship",
            event.actor_id, event.actor_username, event.patient_id, event.occurred_at, evidence={"role": event.role}))
        draft.event_ids.append(event.id)
    return list(drafts.values())


def rule_failed_logins(batch, ctx) -> list[CaseDraft]:
    usernames = {e.username for e in batch if e.action in LOGIN_ACTIONS and e.outcome == "denied" and e.username}
    if not usernames:
        return []
    window = timedelta(minutes=ctx.setting("compliance.failed_login_window_minutes"))
    limit = ctx.setting("compliance.failed_login_limit")
    since = min(e.occurred_at for e in batch) - window
    by_name = defaultdict(list)
    for event in ctx.failed_logins(usernames, since=since, until=max(e.occurred_at for e in batch)):
        by_name[event.username].append(event)
    drafts = []
    for username, events in by_name.items():
        events.sort(key=lambda e: e.occurred_at)
        found = _sliding_exceed(events, lambda e: 1, window, limit - 1)
        if found is None:
            continue
        event, total, in_window = found
        key = f"logins:{username}:{_bucket(event.occurred_at, window)}"
        drafts.append(CaseDraft(
            "failed_logins", Severity.MEDIUM, key, f"{total} failed logins for one account within {window}",
            ctx.user_id_for(username), username, None, in_window[0].occurred_at, [e.id for e in in_window],
            {"username": username, "failures": total, "limit": limit,
             "ips": sorted({e.ip for e in in_window if e.ip})[:20]}))
    return drafts


def rule_token_multi_country(batch, ctx) -> list[CaseDraft]:
    tokens = {e.token_id for e in batch if e.token_id}
    if not tokens:
        return []
    window = timedelta(minutes=ctx.setting("compliance.token_window_minutes"))
    limit = ctx.setting("compliance.token_country_limit")
    since = min(e.occurred_at for e in batch) - window
    by_token = defaultdict(list)
    for event in ctx.token_events(tokens, since=since, until=max(e.occurred_at for e in batch)):
        if country_of(event.ip) not in NOT_A_COUNTRY:
            by_token[event.token_id].append(event)
    drafts = []
    for token, events in by_token.items():
        events.sort(key=lambda e: e.occurred_at)
        start = 0
        for end, event in enumerate(events):
            while event.occurred_at - events[start].occurred_at > window:
                start += 1
            in_window = events[start:end + 1]
            countries = sorted({country_of(e.ip) for e in in_window})
            if len(countries) >= limit:
                key = f"token:{token}:{_bucket(event.occurred_at, window)}"
                drafts.append(CaseDraft(
                    "token_multi_country", Severity.HIGH, key,
                    f"One API token used from {len(countries)} countries within {window}",
                    event.actor_id, event.actor_username, None, in_window[0].occurred_at,
                    [e.id for e in in_window[-_EVIDENCE_EVENTS:]],
                    {"token_id": token, "countries": countries,
                     "ips": sorted({e.ip for e in in_window if e.ip})[:20]}))
                break
    return drafts


def rule_access_after_revocation(batch, ctx) -> list[CaseDraft]:
    drafts = {}
    for event in batch:
        if event.actor_id is None or event.outcome != "success" or event.action in LOGIN_ACTIONS:
            continue
        membership = ctx.membership(event.actor_id)
        if membership is None or membership.active or membership.revoked_at is None:
            continue
        if event.occurred_at < membership.revoked_at:
            continue
        key = f"revoked:{event.actor_id}:{_day(ctx, event)}"
        draft = drafts.setdefault(key, CaseDraft(
            "access_after_revocation", Severity.HIGH, key, "Access after the membership was revoked",
            event.actor_id, event.actor_username, event.patient_id, event.occurred_at,
            evidence={"revoked_at": membership.revoked_at.isoformat(), "actions": []}))
        draft.event_ids.append(event.id)
        if len(draft.evidence["actions"]) < _EVIDENCE_EVENTS:
            draft.evidence["actions"].append(event.action)
    return list(drafts.values())


def _egress(batch, ctx):
    suffixes = tuple(s.strip() for s in ctx.setting("compliance.egress_actions").split(",") if s.strip())
    return [e for e in batch if e.outcome == "success" and suffixes and e.action.endswith(suffixes)]


def rule_egress_without_consent(batch, ctx) -> list[CaseDraft]:
    drafts = []
    for event in _egress(batch, ctx):
        missing = [p for p in event.patients
                   if not event.purpose or not ctx.consent_granted(p, event.purpose, at=event.occurred_at)]
        if missing:
            drafts.append(CaseDraft(
                "egress_without_consent", Severity.CRITICAL, f"consent:{event.id}",
                "Data left the hospital without the patients' consent for the purpose",
                event.actor_id, event.actor_username, missing[0] if len(missing) == 1 else None, event.occurred_at,
                [event.id], {"action": event.action, "purpose": event.purpose or None,
                             "patients_without_consent": missing[:200], "patients_total": len(event.patients)}))
    return drafts


def rule_egress_not_deidentified(batch, ctx) -> list[CaseDraft]:
    return [CaseDraft("egress_not_deidentified", Severity.CRITICAL, f"deid:{event.id}",
                      "Data left the hospital without de-identification", event.actor_id, event.actor_username,
                      event.patient_id, event.occurred_at, [event.id],
                      {"action": event.action, "deidentified": event.deidentified, "patients": len(event.patients)})
            for event in _egress(batch, ctx) if event.deidentified is not True]


def rules_run(batch: list[EventRow], ctx, *, enabled: set[str]) -> list[CaseDraft]:
    """Every enabled rule over the batch. Care links are looked up once for all the
    (staff, patient) pairs in the batch and shared by the rules that need them."""
    if not batch:
        return []
    reads = _patient_reads(batch, ctx)
    needs_links = enabled & {"no_care_relationship", "outside_department", "vip_record"}
    links = ctx.care_links({(e.actor_id, e.patient_id) for e in reads},
                           at=max(e.occurred_at for e in batch)) if reads and needs_links else {}
    runners = {
        "no_care_relationship": lambda: rule_no_care_relationship(batch, ctx, links),
        "bulk_access": lambda: rule_bulk_access(batch, ctx),
        "outside_working_hours": lambda: rule_outside_working_hours(batch, ctx),
        "outside_department": lambda: rule_outside_department(batch, ctx, links),
        "relative_or_neighbour": lambda: rule_relative_or_neighbour(batch, ctx),
        "vip_record": lambda: rule_vip_record(batch, ctx, links),
        "failed_logins": lambda: rule_failed_logins(batch, ctx),
        "token_multi_country": lambda: rule_token_multi_country(batch, ctx),
        "access_after_revocation": lambda: rule_access_after_revocation(batch, ctx),
        "egress_without_consent": lambda: rule_egress_without_consent(batch, ctx),
        "egress_not_deidentified": lambda: rule_egress_not_deidentified(batch, ctx),
    }
    drafts = []
    for name, run in runners.items():
        if name in enabled:
            drafts.extend(run())
    return drafts
