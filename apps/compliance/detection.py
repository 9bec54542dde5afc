"""Running the rules over a hospital's new audit events and opening cases.

A cursor per hospital remembers how far the rules have read. Each run reads events
from a little before the cursor (events are committed out of order by a few
seconds: a request's audit event carries the time it was written, and commits
later) up to now, runs the rules, and opens a case per new dedup key. Re-reading the
overlap opens nothing twice. New cases go to the hospital's compliance officers
over /ws/v1/events/ after commit.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.configuration.selectors import setting_value
from apps.patients.models import Encounter, Patient
from apps.privacy.models import AuditEvent
from apps.privacy.services import audit_record
from apps.realtime.publish import publish
from apps.tenancy.context import current_hospital_id
from apps.tenancy.models import Membership
from apps.tenancy.roles import Role

from .care_links import care_links_for
from .consent import consent_check
from .declared_settings import RULES
from .events import LOGIN_ACTIONS, event_row
from .models import DetectionCursor, PatientWatch, StaffProfile, ViolationCase
from .rules import CaseDraft, MembershipInfo, chinese_surname, rules_run

OVERLAP = timedelta(seconds=120)
FIRST_RUN_LOOKBACK = timedelta(hours=24)
MAX_BATCH = 50_000


class DatabaseRuleContext:
    """The RuleContext over the current hospital's rows (call inside its tenant context)."""

    def __init__(self, hospital_id: int):
        self.hospital_id = hospital_id
        self._memberships: dict[int, MembershipInfo | None] = {}
        self._profiles: dict[int, tuple] = {}
        self._watch: dict[int, tuple] = {}

    def setting(self, key):
        return setting_value(key)

    def local(self, moment: datetime) -> datetime:
        return timezone.localtime(moment)

    def care_links(self, pairs, *, at):
        return care_links_for(pairs, at=at, link_days=setting_value("compliance.care_link_days"))

    def membership(self, user_id):
        if user_id not in self._memberships:
            row = Membership.objects.filter(user_id=user_id, hospital_id=self.hospital_id).first()
            self._memberships[user_id] = (MembershipInfo(row.role, row.department_id, row.active, row.revoked_at)
                                          if row else None)
        return self._memberships[user_id]

    def staff_profile(self, user_id):
        if user_id not in self._profiles:
            row = StaffProfile.objects.filter(user_id=user_id).first()
            if row is None:
                user = get_user_model().objects.filter(pk=user_id).first()
                surname = chinese_surname(user.last_name) if user and user.last_name else ""
                self._profiles[user_id] = (surname, "", None, None)
            else:
                self._profiles[user_id] = (row.surname, row.address_area, row.work_start_hour, row.work_end_hour)
        return self._profiles[user_id]

    def patient_watch(self, patient_id):
        if patient_id not in self._watch:
            watch = PatientWatch.objects.filter(patient_id=patient_id).first()
            patient = Patient.objects.filter(pk=patient_id).only("name").first()
            self._watch[patient_id] = (bool(watch and watch.vip), watch.address_area if watch else "",
                                       chinese_surname(patient.name) if patient else "")
        return self._watch[patient_id]

    def patient_department(self, patient_id, *, at):
        encounter = (Encounter.objects.filter(patient_id=patient_id, started_at__lte=at)
                     .order_by("-started_at", "-id").only("department_id").first())
        return encounter.department_id if encounter else None

    def consent_granted(self, patient_id, purpose, *, at):
        return consent_check(patient_id, purpose, at=at)

    def _rows(self, queryset):
        return [event_row(e) for e in queryset.order_by("occurred_at")[:MAX_BATCH]]

    def actor_events(self, actor_ids, *, since, until):
        return self._rows(AuditEvent.objects.filter(hospital_id=self.hospital_id, actor_id__in=actor_ids,
                                                    occurred_at__gte=since, occurred_at__lte=until))

    def failed_logins(self, usernames, *, since, until):
        rows = self._rows(AuditEvent.objects.filter(hospital_id=self.hospital_id, action__in=LOGIN_ACTIONS,
                                                    outcome="denied", occurred_at__gte=since, occurred_at__lte=until))
        return [row for row in rows if row.username in usernames]

    def token_events(self, token_ids, *, since, until):
        # The token id is in the detail (requests) or the object id (logins).
        numeric = [int(t) for t in token_ids if str(t).isdigit()]
        which = (Q(detail__token_id__in=numeric)
                 | Q(object_type="api_token", action__in=LOGIN_ACTIONS, object_id__in=[str(t) for t in token_ids]))
        rows = self._rows(AuditEvent.objects.filter(which, hospital_id=self.hospital_id, occurred_at__gte=since,
                                                    occurred_at__lte=until, ip__isnull=False))
        return [row for row in rows if row.token_id in token_ids]

    def user_id_for(self, username):
        return get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()


def enabled_rules() -> set[str]:
    return {rule for rule in RULES if setting_value(f"compliance.rule_{rule}_enabled")}


def cases_open(*, hospital_id: int, drafts: list[CaseDraft]) -> list[ViolationCase]:
    """Open a case per draft whose dedup key is new; announce them after commit."""
    if not drafts:
        return []
    unique = {}
    for draft in drafts:
        unique.setdefault(draft.dedup_key, draft)
    existing = set(ViolationCase.objects.filter(dedup_key__in=list(unique)).values_list("dedup_key", flat=True))
    opened = []
    for key, draft in unique.items():
        if key in existing:
            continue
        case = ViolationCase.objects.create(
            hospital_id=hospital_id, rule=draft.rule, severity=draft.severity, summary=draft.summary[:300],
            subject_user_id=draft.actor_id, subject_username=draft.actor_username[:150], patient_id=draft.patient_id,
            evidence=draft.evidence, event_ids=draft.event_ids[:200], dedup_key=key[:200],
            first_event_at=draft.first_event_at)
        audit_record(action="compliance.case_opened", hospital_id=hospital_id, object_type="violation_case",
                     object_id=case.pk, patient_id=case.patient_id,
                     detail={"rule": case.rule, "severity": case.severity, "subject_user_id": case.subject_user_id})
        opened.append(case)
    if opened:
        publish("compliance.cases_opened", {"cases": [
            {"id": c.pk, "rule": c.rule, "severity": c.severity, "summary": c.summary,
             "subject_user_id": c.subject_user_id, "patient_id": c.patient_id} for c in opened]},
            hospital_id=hospital_id, roles=[Role.COMPLIANCE_OFFICER])
    return opened


def detect_new_events(*, now: datetime | None = None) -> dict:
    """One detection run for the current hospital (inside its tenant context)."""
    hospital_id = current_hospital_id()
    now = now or timezone.now()
    with transaction.atomic():
        cursor, _created = DetectionCursor.objects.select_for_update().get_or_create(hospital_id=hospital_id)
        since = (cursor.last_occurred_at - OVERLAP) if cursor.last_occurred_at else now - FIRST_RUN_LOOKBACK
        events = list(AuditEvent.objects.filter(hospital_id=hospital_id, occurred_at__gt=since, occurred_at__lte=now)
                      .order_by("occurred_at")[:MAX_BATCH])
        batch = [event_row(e) for e in events if not e.action.startswith("compliance.case_")]
        drafts = rules_run(batch, DatabaseRuleContext(hospital_id), enabled=enabled_rules())
        opened = cases_open(hospital_id=hospital_id, drafts=drafts)
        # A full batch stops at its last event; the next run continues from there.
        cursor.last_occurred_at = events[-1].occurred_at if len(events) == MAX_BATCH else now
        cursor.runs += 1
        cursor.save()
    counts = defaultdict(int)
    for case in opened:
        counts[case.rule] += 1
    return {"events": len(batch), "opened": dict(counts)}
