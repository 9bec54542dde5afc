import datetime

import pytest
from django.utils import timezone

from apps.patients.services import patient_create
from apps.privacy.models import AuditEvent
from apps.privacy.services import audit_record
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Membership
from apps.tenancy.roles import Role
from tests.factories import DepartmentFactory, member_of

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture
def officer_a(hospital_a):
    return member_of(hospital_a, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def officer_b(hospital_b):
    return member_of(hospital_b, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def cardiology(hospital_a):
    return DepartmentFactory(hospital=hospital_a, name="Cardiology", code="CARD")


@pytest.fixture
def oncology(hospital_a):
    return DepartmentFactory(hospital=hospital_a, name="Oncology", code="ONC")


@pytest.fixture
def patient_a(hospital_a):
    return patient_create(hospital_id=hospital_a.pk, name="张三")


def in_department(user, hospital, department):
    Membership.objects.filter(user=user, hospital=hospital).update(department=department)


def at_local(hour: int, minute: int = 0, days_ago: int = 0) -> datetime.datetime:
    """A moment at the given China Standard Time hour of the rule tests' "today"
    (minus days). Today is the Shanghai date 12 hours ago, so its morning hours
    have always passed, and `detect` looks from its noon: the tests mean the same
    whatever the hour they run at (a run just after midnight in Shanghai once put
    "today at 10:00" in the future)."""
    today = (timezone.now().astimezone(SHANGHAI) - datetime.timedelta(hours=12)).date() - datetime.timedelta(days=days_ago)
    return datetime.datetime.combine(today, datetime.time(hour, minute), SHANGHAI)


def recent_local(hour: int, minute: int = 0) -> datetime.datetime:
    """The latest moment at or before now at this China Standard Time hour: for
    tests that run the real task, whose clock is the real one (it looks back 24 hours)."""
    now = timezone.now().astimezone(SHANGHAI)
    moment = datetime.datetime.combine(now.date(), datetime.time(hour, minute), SHANGHAI)
    return moment if moment <= now else moment - datetime.timedelta(days=1)


def record(hospital, *, action="patient.read", actor=None, role=Role.DOCTOR, patient=None, outcome="success",
           occurred_at=None, ip=None, detail=None, object_type="patient", object_id=""):
    """An audit event as the platform writes it (through audit_record), then moved to
    `occurred_at` (tests need past times; the chain is not verified by these tests)."""
    from apps.core.request_context import RequestInfo, reset_request_info, set_request_info

    token = set_request_info(RequestInfo(request_id="test-request", ip=ip))
    try:
        event = audit_record(action=action, actor=actor, role=role, hospital_id=hospital.pk, object_type=object_type,
                             object_id=object_id or (patient.pk if patient else ""),
                             patient_id=patient.pk if patient else None, outcome=outcome, detail=detail)
    finally:
        reset_request_info(token)
    if occurred_at is not None:
        from tests.apps.privacy.test_audit_chain import _tamper

        from django.db import connection

        _tamper("UPDATE privacy_auditevent SET occurred_at = %s WHERE id = %s",
                [connection.ops.adapt_datetimefield_value(occurred_at), event.pk.hex if _is_sqlite() else event.pk])
        event = AuditEvent.objects.get(pk=event.pk)
    return event


def _is_sqlite():
    from django.db import connection

    return connection.vendor == "sqlite"


def detect(hospital, now=None):
    from apps.compliance.detection import detect_new_events

    with tenant_context(hospital.pk):
        return detect_new_events(now=now)


def detect_today(hospital):
    """One detection run at noon of at_local's today: every morning moment the
    rule tests plant is then in the past and inside the first run's 24-hour look-back."""
    return detect(hospital, now=at_local(12))


def cases(hospital, rule=None):
    from apps.compliance.models import ViolationCase

    with tenant_context(hospital.pk):
        queryset = ViolationCase.objects.all()
        if rule:
            queryset = queryset.filter(rule=rule)
        return list(queryset)
