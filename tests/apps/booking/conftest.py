"""Booking test data: experts with published sessions, patients with valid IDs."""

import datetime
import random

import pytest
from django.utils import timezone

from apps.booking.hospital_services import expert_save, schedule_create
from apps.booking.models import Slot
from apps.configuration.selectors import forget_local
from apps.configuration.services import setting_set
from apps.core.demo_data import demo_person
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Department
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

_people = random.Random(8)


def person() -> dict:
    """Name, national ID (valid GB 11643 check digit) and phone of a new person."""
    details = demo_person(_people)
    return {"name": details["name"], "national_id": details["national_id"], "phone": details["phone"]}


def make_expert(hospital, *, name="王建国", title="chief", specialties="高血压, 冠心病, 心力衰竭",
                department_name="心血管内科", code=None):
    admin = member_of(hospital, Role.HOSPITAL_ADMIN)
    with tenant_context(hospital.pk):
        department, _ = Department.objects.get_or_create(
            hospital=hospital, code=code or f"D{abs(hash(department_name)) % 10000}", defaults={"name": department_name})
        return expert_save(actor=admin, role=Role.HOSPITAL_ADMIN, hospital_id=hospital.pk, department_id=department.pk,
                           name=name, title=title, specialties=specialties)


def make_session(expert, *, days_ahead=7, capacity=5, slot_minutes=30, period="morning", publish=True,
                 start_time=None, end_time=None):
    """A session `days_ahead` days from today; returns its slots in time order."""
    admin = member_of(expert.hospital, Role.HOSPITAL_ADMIN)
    with tenant_context(expert.hospital_id):
        schedule = schedule_create(actor=admin, role=Role.HOSPITAL_ADMIN, expert=expert,
                                   date=timezone.localdate() + datetime.timedelta(days=days_ahead), period=period,
                                   start_time=start_time, end_time=end_time, slot_minutes=slot_minutes,
                                   capacity=capacity, publish=publish)
        return list(Slot.objects.filter(schedule=schedule).order_by("start"))


def set_rule(hospital, key, value):
    admin = member_of(hospital, Role.HOSPITAL_ADMIN)
    setting_set(key=key, value=value, actor=admin, role=Role.HOSPITAL_ADMIN, hospital_id=hospital.pk)
    # The change reaches other readers after commit, which a test transaction never does.
    forget_local()


def slot_state(slot) -> tuple[int, int, int]:
    with tenant_context(slot.hospital_id):
        fresh = Slot.objects.get(pk=slot.pk)
    return fresh.capacity, fresh.booked, fresh.held


def book(client, slot, details=None, **headers):
    return client.post("/api/v1/booking/appointments/", {"slot": slot.pk, "patient": details or person()},
                       format="json", **headers)


@pytest.fixture
def expert_a(hospital_a):
    return make_expert(hospital_a)


@pytest.fixture
def patient_user(hospital_a):
    return member_of(hospital_a, Role.PATIENT)


@pytest.fixture
def patient_client(patient_user):
    return client_for(patient_user)
