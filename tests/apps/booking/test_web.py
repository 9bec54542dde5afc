"""The hospital side in the web admin: experts, sessions (publish, capacity, stop),
the day's list with check-in by voucher, statistics."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.booking.models import Appointment, Expert, Schedule, Slot
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Department
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

from .conftest import book, make_session, person, slot_state


@pytest.fixture
def admin(hospital_a):
    return member_of(hospital_a, Role.HOSPITAL_ADMIN)


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def _booked(hospital, expert, **session):
    slot = make_session(expert, **session)[0]
    response = book(client_for(member_of(hospital, Role.PATIENT)), slot, person())
    assert response.status_code == 201
    return slot, response.json()


def test_an_admin_adds_an_expert_who_becomes_searchable(admin_client, hospital_a, api_client):
    with tenant_context(hospital_a.pk):
        department = Department.objects.create(hospital=hospital_a, code="END", name="内分泌科")
    response = admin_client.post(reverse("booking_web:experts"), {
        "name": "李芳", "department": department.pk, "title": "associate_chief", "specialties": "糖尿病, 甲状腺结节"})
    assert response.status_code == 302
    found = api_client.get("/api/v1/booking/experts/", {"q": "甲状腺"}).json()["results"]
    assert [row["name"] for row in found] == ["李芳"]
    with tenant_context(hospital_a.pk):
        assert AuditEvent.objects.filter(action="expert.create", outcome="success").count() == 1


def test_an_admin_publishes_a_session_cut_into_slots(admin_client, hospital_a, expert_a):
    day = timezone.localdate() + datetime.timedelta(days=3)
    response = admin_client.post(reverse("booking_web:schedules"), {
        "expert": expert_a.pk, "date": day.isoformat(), "period": "afternoon", "slot_minutes": 60, "capacity": 4,
        "publish": "on"})
    assert response.status_code == 302
    with tenant_context(hospital_a.pk):
        schedule = Schedule.objects.get()
        slots = list(Slot.objects.filter(schedule=schedule))
    assert schedule.status == "published"
    assert [timezone.localtime(slot.start).strftime("%H:%M") for slot in slots] == ["13:30", "14:30", "15:30", "16:30"]
    assert {slot.capacity for slot in slots} == {4}


def test_a_bad_session_is_refused_with_the_reason_on_the_field(admin_client, hospital_a, expert_a):
    day = timezone.localdate() + datetime.timedelta(days=3)
    response = admin_client.post(reverse("booking_web:schedules"), {
        "expert": expert_a.pk, "date": day.isoformat(), "period": "custom", "start_time": "11:00",
        "end_time": "10:00", "slot_minutes": 30, "capacity": 4})
    assert response.status_code == 400
    assert b'data-testid="error-end_time"' in response.content
    make_session(expert_a, days_ahead=3)
    overlap = admin_client.post(reverse("booking_web:schedules"), {
        "expert": expert_a.pk, "date": day.isoformat(), "period": "morning", "slot_minutes": 30, "capacity": 4})
    assert overlap.status_code == 409
    with tenant_context(hospital_a.pk):
        assert Schedule.objects.count() == 1


def test_a_draft_session_is_published_from_its_page(admin_client, hospital_a, expert_a):
    slot = make_session(expert_a, publish=False)[0]
    page = admin_client.get(reverse("booking_web:schedule", args=[slot.schedule_id]))
    assert page.status_code == 200 and b'data-testid="publish"' in page.content
    admin_client.post(reverse("booking_web:schedule-publish", args=[slot.schedule_id]))
    with tenant_context(hospital_a.pk):
        assert Schedule.objects.get(pk=slot.schedule_id).status == "published"


def test_capacity_never_goes_below_the_booked_places(admin_client, hospital_a, expert_a):
    slot = make_session(expert_a, capacity=3)[0]
    for _ in range(2):
        assert book(client_for(member_of(hospital_a, Role.PATIENT)), slot, person()).status_code == 201
    url = reverse("booking_web:slot-capacity", args=[slot.pk])
    admin_client.post(url, {"capacity": 6, "schedule": slot.schedule_id})
    assert slot_state(slot) == (6, 2, 0)
    # below the two booked places: refused, unchanged, and the page says why
    page = admin_client.post(url, {"capacity": 1, "schedule": slot.schedule_id}, follow=True)
    assert slot_state(slot) == (6, 2, 0)
    assert [m.level_tag for m in page.context["messages"]][-1] == "error"
    with tenant_context(hospital_a.pk):
        assert AuditEvent.objects.filter(action="slot.capacity_change").count() == 1


def test_stopping_a_session_cancels_its_bookings(admin_client, hospital_a, expert_a):
    slot, voucher = _booked(hospital_a, expert_a)
    response = admin_client.post(reverse("booking_web:schedule-stop", args=[slot.schedule_id]), {"reason": "专家出差"})
    assert response.status_code == 302
    with tenant_context(hospital_a.pk):
        appointment = Appointment.objects.get(pk=voucher["id"])
        assert Schedule.objects.get(pk=slot.schedule_id).status == "stopped"
        assert AuditEvent.objects.filter(action="schedule.stop").count() == 1
    assert (appointment.status, appointment.cancel_reason) == ("cancelled_by_hospital", "专家出差")
    assert slot_state(slot) == (5, 0, 0)
    # a stop needs a reason
    other = make_session(expert_a, days_ahead=9)[0]
    refused = admin_client.post(reverse("booking_web:schedule-stop", args=[other.schedule_id]), {"reason": ""})
    assert refused.status_code == 400


def test_check_in_by_scanned_voucher_on_the_day_and_complete(admin_client, hospital_a, expert_a):
    _slot, voucher = _booked(hospital_a, expert_a)
    # not on the appointment day: refused, with the reason
    early = admin_client.post(reverse("booking_web:check-in-voucher"), {"voucher": "HPBK:" + voucher["voucher_code"]})
    assert early.status_code == 409
    assert b'data-testid="voucher-error"' in early.content
    with tenant_context(hospital_a.pk):
        Appointment.objects.filter(pk=voucher["id"]).update(date=timezone.localdate())
    # on the day, the QR content checks the patient in
    response = admin_client.post(reverse("booking_web:check-in-voucher"),
                                 {"voucher": "HPBK:" + voucher["voucher_code"]})
    assert response.status_code == 302
    day = admin_client.get(reverse("booking_web:day"))
    assert day.status_code == 200
    assert f'data-appointment="{voucher["id"]}"'.encode() in day.content
    assert b'data-testid="complete"' in day.content
    admin_client.post(reverse("booking_web:complete", args=[voucher["id"]]))
    with tenant_context(hospital_a.pk):
        assert Appointment.objects.get(pk=voucher["id"]).status == "completed"
    unknown = admin_client.post(reverse("booking_web:check-in-voucher"), {"voucher": "HPBK:NOSUCHCODE"})
    assert unknown.status_code == 404


def test_statistics_count_bookings_and_places(admin_client, hospital_a, expert_a):
    slot, _voucher = _booked(hospital_a, expert_a, capacity=4)
    day = timezone.localdate(slot.start)
    response = admin_client.get(reverse("booking_web:statistics"),
                                {"from": day.isoformat(), "to": day.isoformat()})
    assert response.status_code == 200
    assert response.context["statistics"]["booked"] == 1
    assert response.context["statistics"]["places"] == 4 * 8
    assert response.context["statistics"]["by_status"]["booked"] == 1


@pytest.mark.parametrize("role, day_status, sessions_status", [
    (Role.DOCTOR, 200, 403), (Role.PATIENT, 403, 403), (Role.COMPLIANCE_OFFICER, 403, 403)])
def test_who_may_open_the_hospital_pages(client, hospital_a, role, day_status, sessions_status):
    client.force_login(member_of(hospital_a, role))
    assert client.get(reverse("booking_web:day")).status_code == day_status
    assert client.get(reverse("booking_web:schedules")).status_code == sessions_status
    assert client.get(reverse("booking_web:experts")).status_code == sessions_status


def test_another_hospitals_session_is_404(admin_client, hospital_b):
    from .conftest import make_expert

    foreign = make_session(make_expert(hospital_b))[0]
    assert admin_client.get(reverse("booking_web:schedule", args=[foreign.schedule_id])).status_code == 404
    admin_client.post(reverse("booking_web:schedule-stop", args=[foreign.schedule_id]), {"reason": "x"})
    with tenant_context(hospital_b.pk):
        assert Schedule.objects.get(pk=foreign.schedule_id).status == "published"
    assert Expert.unscoped_objects.count() == 1


def test_stopping_midway_keeps_the_places_of_checked_in_patients(admin_client, hospital_a, expert_a):
    slot = make_session(expert_a)[0]
    vouchers = [book(client_for(member_of(hospital_a, Role.PATIENT)), slot, person()).json() for _ in range(2)]
    with tenant_context(hospital_a.pk):
        Appointment.objects.filter(pk=vouchers[0]["id"]).update(date=timezone.localdate())
    admin_client.post(reverse("booking_web:check-in", args=[vouchers[0]["id"]]))
    admin_client.post(reverse("booking_web:schedule-stop", args=[slot.schedule_id]), {"reason": "停电"})
    with tenant_context(hospital_a.pk):
        statuses = dict(Appointment.objects.values_list("pk", "status"))
    assert statuses == {vouchers[0]["id"]: "checked_in", vouchers[1]["id"]: "cancelled_by_hospital"}
    assert slot_state(slot) == (5, 1, 0)
