"""Reads for compliance officers and patients, scoped to the current hospital (the
audit table's row-level security scopes it again on PostgreSQL)."""

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.configuration.selectors import setting_value
from apps.core.exceptions import DomainError
from apps.privacy.models import AuditEvent
from apps.tenancy.context import current_hospital_id
from apps.tenancy.models import Department, Membership

from .models import ViolationCase


@dataclass(frozen=True)
class EventFilters:
    actor_id: int | None = None
    actor_username: str = ""
    patient_id: int | None = None
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    outcome: str = ""
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None

    def as_dict(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, datetime.datetime) else v)
                for k, v in self.__dict__.items() if v not in (None, "")}


def audit_events_search(*, filters: EventFilters) -> QuerySet[AuditEvent]:
    """The current hospital's events matching every given filter, newest first. An
    action ending in "." or "*" matches as a prefix ("patient." = every patient act)."""
    hospital_id = current_hospital_id()
    if hospital_id is None:
        return AuditEvent.objects.none()
    if filters.since and filters.until and filters.since > filters.until:
        raise DomainError(_("The start of the period is after its end."), code="invalid",
                          fields={"since": [_("Must be before until.")]})
    queryset = AuditEvent.objects.filter(hospital_id=hospital_id)
    if filters.actor_id is not None:
        queryset = queryset.filter(actor_id=filters.actor_id)
    if filters.actor_username:
        queryset = queryset.filter(actor_username=filters.actor_username)
    if filters.patient_id is not None:
        queryset = queryset.filter(patient_id=filters.patient_id)
    if filters.action:
        action = filters.action.rstrip("*")
        queryset = queryset.filter(action__startswith=action) if action.endswith(".") or filters.action.endswith("*") \
            else queryset.filter(action=action)
    if filters.object_type:
        queryset = queryset.filter(object_type=filters.object_type)
    if filters.object_id:
        queryset = queryset.filter(object_id=filters.object_id)
    if filters.outcome:
        queryset = queryset.filter(outcome=filters.outcome)
    if filters.since:
        queryset = queryset.filter(occurred_at__gte=filters.since)
    if filters.until:
        queryset = queryset.filter(occurred_at__lte=filters.until)
    return queryset.order_by("-occurred_at", "-id")


def patient_timeline(*, patient_id: int) -> QuerySet[AuditEvent]:
    """Who saw this patient's record: every event about the patient, newest first."""
    return audit_events_search(filters=EventFilters(patient_id=patient_id))


def staff_timeline(*, user_id: int) -> QuerySet[AuditEvent]:
    return audit_events_search(filters=EventFilters(actor_id=user_id))


def staff_directory(*, user_ids) -> dict[int, dict]:
    """Role and department of each staff member at the current hospital."""
    rows = Membership.objects.filter(hospital_id=current_hospital_id(), user_id__in=set(user_ids)).values(
        "user_id", "role", "department_id", "user__username")
    departments = dict(Department.objects.values_list("pk", "name"))
    return {row["user_id"]: {"role": row["role"], "department": departments.get(row["department_id"], ""),
                             "username": row["user__username"]} for row in rows}


def patient_access_log(*, patient_ids, limit: int = 200) -> list[dict]:
    """A patient's own view: who (role, department; names only if the hospital's
    policy shows them) accessed their records, and when. Their own acts are left out."""
    from apps.tenancy.roles import Role

    events = list(AuditEvent.objects.filter(hospital_id=current_hospital_id(), patient_id__in=list(patient_ids))
                  .exclude(role=Role.PATIENT).exclude(actor_id__isnull=True)
                  .order_by("-occurred_at", "-id")[:limit])
    staff = staff_directory(user_ids={e.actor_id for e in events})
    show_names = setting_value("compliance.patient_view_shows_names")
    return [{"occurred_at": e.occurred_at, "action": e.action, "outcome": e.outcome, "role": e.role,
             "department": staff.get(e.actor_id, {}).get("department", ""),
             "staff": e.actor_username if show_names else None} for e in events]


def cases_list(*, status: str = "", rule: str = "", assignee_id: int | None = None) -> QuerySet[ViolationCase]:
    queryset = ViolationCase.objects.select_related("assignee")
    if status:
        queryset = queryset.filter(status=status)
    if rule:
        queryset = queryset.filter(rule=rule)
    if assignee_id is not None:
        queryset = queryset.filter(assignee_id=assignee_id)
    return queryset


def case_get(*, case_id) -> ViolationCase | None:
    return ViolationCase.objects.select_related("assignee").prefetch_related("notes").filter(pk=case_id).first()


def month_bounds(month: str) -> tuple[datetime.datetime, datetime.datetime]:
    try:
        first = datetime.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise DomainError(_("A month looks like 2026-11."), code="invalid", fields={"month": [month]}) from None
    following = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    zone = timezone.get_current_timezone()
    return (datetime.datetime.combine(first, datetime.time(), zone),
            datetime.datetime.combine(following, datetime.time(), zone))


def monthly_report(*, month: str) -> dict:
    """Cases opened in the month by rule and severity, how they were resolved, and
    time to resolve (median and 90th percentile hours) per rule."""
    start, end = month_bounds(month)
    cases = list(ViolationCase.objects.filter(opened_at__gte=start, opened_at__lt=end)
                 .values("rule", "severity", "status", "resolution", "opened_at", "resolved_at"))
    by_rule = defaultdict(lambda: {"opened": 0, "resolved": 0, "justified": 0, "violation_confirmed": 0,
                                   "still_open": 0, "hours_to_resolve": []})
    for case in cases:
        row = by_rule[case["rule"]]
        row["opened"] += 1
        if case["status"] == ViolationCase.Status.RESOLVED:
            row["resolved"] += 1
            row[case["resolution"]] += 1
            row["hours_to_resolve"].append((case["resolved_at"] - case["opened_at"]).total_seconds() / 3600)
        else:
            row["still_open"] += 1
    rules = []
    for rule, row in sorted(by_rule.items()):
        hours = sorted(row.pop("hours_to_resolve"))
        row["median_hours_to_resolve"] = round(hours[len(hours) // 2], 2) if hours else None
        row["p90_hours_to_resolve"] = round(hours[min(len(hours) - 1, int(len(hours) * 0.9))], 2) if hours else None
        rules.append({"rule": rule, **row})
    return {"month": month, "opened": len(cases), "by_rule": rules,
            "by_severity": dict(Counter(c["severity"] for c in cases))}


def filters_from(params) -> EventFilters:
    """EventFilters from query parameters or a form's cleaned data; bad values are
    400 invalid with the field named."""
    errors = {}

    def integer(name):
        value = params.get(name)
        if value in (None, ""):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            errors[name] = [_("Must be a whole number.")]
            return None

    def moment(name):
        value = params.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, datetime.datetime):
            return value
        try:
            parsed = datetime.datetime.fromisoformat(str(value))
        except ValueError:
            errors[name] = [_("Must be a date and time like 2026-11-22T08:00.")]
            return None
        return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed

    filters = EventFilters(
        actor_id=integer("actor"), actor_username=str(params.get("username") or "")[:150],
        patient_id=integer("patient"), action=str(params.get("action") or "")[:64],
        object_type=str(params.get("object_type") or "")[:64], object_id=str(params.get("object_id") or "")[:64],
        outcome=str(params.get("outcome") or "")[:16], since=moment("since"), until=moment("until"))
    if errors:
        raise DomainError(_("Some filters are invalid; correct them and try again."), code="invalid", fields=errors)
    return filters

