"""Booking through the API: the voucher, the rules, the clear refusals."""

import datetime

from django.utils import timezone

from apps.booking.models import Appointment
from apps.patients.models import Patient
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

from .conftest import book, make_expert, make_session, person, set_rule, slot_state

URL = "/api/v1/booking/appointments/"


def _code(response):
    return response.json()["error"]["code"]


def test_booking_returns_the_voucher_with_a_qr_code(hospital_a, expert_a, patient_user, patient_client):
    # Given a published slot a week ahead
    slot = make_session(expert_a)[0]
    details = person()
    # when a patient books it
    response = book(patient_client, slot, details)
    # then the voucher says when, where, with whom, which number, and carries a QR code
    assert response.status_code == 201, response.json()
    voucher = response.json()
    assert voucher["status"] == "booked"
    assert voucher["visit_number"] == 1
    assert voucher["expert"]["name"] == "王建国"
    assert voucher["department"] == "心血管内科"
    assert voucher["start"] == timezone.localtime(slot.start).isoformat()
    assert voucher["qr"].startswith("data:image/png;base64,")
    assert voucher["patient"]["national_id"].endswith(details["national_id"][-4:])
    assert "*" in voucher["patient"]["national_id"]
    # and the slot has one place fewer
    assert slot_state(slot) == (5, 1, 0)


def test_booking_finds_or_creates_the_callers_patient_record(hospital_a, expert_a, patient_user, patient_client):
    slots = make_session(expert_a, slot_minutes=60)
    details = person()
    assert book(patient_client, slots[0], details).status_code == 201
    other_expert = make_expert(hospital_a, name="李芳", specialties="糖尿病", department_name="内分泌科")
    later = make_session(other_expert, days_ahead=8)[0]
    assert book(patient_client, later, details).status_code == 201
    # one record, linked to the account, identifiers encrypted (found by blind index)
    with tenant_context(hospital_a.pk):
        patients = list(Patient.objects.all())
    assert len(patients) == 1
    assert patients[0].user_id == patient_user.pk
    assert patients[0].national_id == details["national_id"]
    assert patients[0].sex in ("M", "F") and patients[0].birth_date is not None


def test_visit_numbers_follow_booking_order(hospital_a, expert_a):
    slot = make_session(expert_a)[0]
    numbers = []
    for _ in range(3):
        client = client_for(member_of(hospital_a, Role.PATIENT))
        numbers.append(book(client, slot).json()["visit_number"])
    assert numbers == [1, 2, 3]


def test_a_full_slot_answers_409_slot_full_and_writes_nothing(hospital_a, expert_a):
    slot = make_session(expert_a, capacity=1)[0]
    assert book(client_for(member_of(hospital_a, Role.PATIENT)), slot).status_code == 201
    response = book(client_for(member_of(hospital_a, Role.PATIENT)), slot)
    assert response.status_code == 409
    assert _code(response) == "slot_full"
    with tenant_context(hospital_a.pk):
        assert Appointment.objects.count() == 1
        assert Patient.objects.count() == 1  # the refused patient's record was rolled back too
    assert slot_state(slot) == (1, 1, 0)


def test_the_callers_own_appointments_only(hospital_a, expert_a, patient_client):
    slots = make_session(expert_a, slot_minutes=60)
    book(patient_client, slots[0])
    book(client_for(member_of(hospital_a, Role.PATIENT)), slots[1])
    response = patient_client.get(URL)
    assert response.status_code == 200
    assert [row["start"] for row in response.json()["results"]] == [timezone.localtime(slots[0].start).isoformat()]


def test_cancel_frees_the_place(hospital_a, expert_a, patient_client):
    slot = make_session(expert_a)[0]
    appointment = book(patient_client, slot).json()
    response = patient_client.post(f"{URL}{appointment['id']}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled_by_patient"
    assert slot_state(slot) == (5, 0, 0)
    # cancelling twice is refused
    again = patient_client.post(f"{URL}{appointment['id']}/cancel/")
    assert (again.status_code, _code(again)) == (409, "not_cancellable")


def test_cancelling_someone_elses_booking_is_404(hospital_a, expert_a, patient_client):
    slot = make_session(expert_a)[0]
    appointment = book(patient_client, slot).json()
    stranger = client_for(member_of(hospital_a, Role.PATIENT))
    response = stranger.post(f"{URL}{appointment['id']}/cancel/")
    assert (response.status_code, _code(response)) == (404, "not_found")
    assert slot_state(slot) == (5, 1, 0)


def test_cancelling_after_the_deadline_is_refused(hospital_a, expert_a, patient_client):
    slot = make_session(expert_a)[0]
    appointment = book(patient_client, slot).json()
    # the deadline now lies 14 working days before an appointment one week ahead: passed
    set_rule(hospital_a, "booking.cancellation_deadline_working_days", 14)
    response = patient_client.post(f"{URL}{appointment['id']}/cancel/")
    assert (response.status_code, _code(response)) == (409, "cancellation_deadline_passed")
    assert slot_state(slot) == (5, 1, 0)


def test_cancellation_deadline_is_on_the_working_day_before(hospital_a):
    from apps.booking.rules import booking_rules

    with tenant_context(hospital_a.pk):
        rules = booking_rules()
    monday = datetime.date(2026, 11, 23)
    deadline = timezone.localtime(rules.cancellation_deadline(monday))
    assert (deadline.date(), deadline.hour, deadline.minute) == (datetime.date(2026, 11, 20), 15, 0)  # Friday


def test_bad_national_id_checksum_is_400_with_the_field(hospital_a, expert_a, patient_client):
    slot = make_session(expert_a)[0]
    details = person()
    wrong_digit = "0" if details["national_id"][-1] != "0" else "1"
    details["national_id"] = details["national_id"][:17] + wrong_digit
    response = book(patient_client, slot, details)
    assert response.status_code == 400
    assert _code(response) == "invalid"
    assert "patient.national_id" in response.json()["error"]["fields"]
    assert slot_state(slot) == (5, 0, 0)


def test_malformed_national_id_and_missing_slot_are_400(hospital_a, expert_a, patient_client):
    slot = make_session(expert_a)[0]
    response = book(patient_client, slot, {**person(), "national_id": "12345"})
    assert response.status_code == 400 and "patient.national_id" in response.json()["error"]["fields"]
    response = patient_client.post(URL, {"patient": person()}, format="json")
    assert response.status_code == 400 and "slot" in response.json()["error"]["fields"]
    response = patient_client.post(URL, "not json", content_type="application/json")
    assert (response.status_code, _code(response)) == (400, "malformed_request")


def test_duplicate_booking_of_the_same_slot_is_409(hospital_a, expert_a, patient_client):
    slot = make_session(expert_a)[0]
    details = person()
    assert book(patient_client, slot, details).status_code == 201
    response = book(patient_client, slot, details)
    assert (response.status_code, _code(response)) == (409, "already_booked")
    assert slot_state(slot) == (5, 1, 0)


def test_one_booking_per_expert_per_day(hospital_a, expert_a, patient_client):
    slots = make_session(expert_a)
    details = person()
    assert book(patient_client, slots[0], details).status_code == 201
    response = book(patient_client, slots[3], details)
    assert (response.status_code, _code(response)) == (409, "already_booked")
    # a hospital that allows it lets the second booking through
    set_rule(hospital_a, "booking.one_per_expert_per_day", False)
    assert book(patient_client, slots[3], details).status_code == 201


def test_overlapping_bookings_are_refused(hospital_a, expert_a, patient_client):
    other = make_expert(hospital_a, name="李芳", specialties="糖尿病", department_name="内分泌科")
    mine = make_session(expert_a)[0]
    same_time = make_session(other)[0]
    details = person()
    assert book(patient_client, mine, details).status_code == 201
    response = book(patient_client, same_time, details)
    assert (response.status_code, _code(response)) == (409, "overlapping_booking")


def test_past_unpublished_stopped_and_unreleased_slots_are_refused(hospital_a, expert_a, patient_client):
    from apps.booking.hospital_services import schedule_stop
    from apps.booking.models import Slot

    draft = make_session(expert_a, days_ahead=5, publish=False)[0]
    response = book(patient_client, draft)
    assert (response.status_code, _code(response)) == (409, "slot_not_published")

    stopped = make_session(expert_a, days_ahead=6)[0]
    with tenant_context(hospital_a.pk):
        schedule_stop(actor=member_of(hospital_a, Role.HOSPITAL_ADMIN), role=Role.HOSPITAL_ADMIN,
                      schedule_id=stopped.schedule_id, reason="专家出差")
    response = book(patient_client, stopped)
    assert (response.status_code, _code(response)) == (409, "slot_closed")

    too_far = make_session(expert_a, days_ahead=20)[0]
    response = book(patient_client, too_far)
    assert (response.status_code, _code(response)) == (400, "outside_booking_window")
    assert "opens_at" in response.json()["error"]["fields"]

    past = make_session(expert_a, days_ahead=0, period="custom", start_time=datetime.time(0, 0),
                        end_time=datetime.time(0, 30))[0]
    with tenant_context(hospital_a.pk):
        assert Slot.objects.get(pk=past.pk).start < timezone.now()
    response = book(patient_client, past)
    assert (response.status_code, _code(response)) == (400, "slot_in_past")


def test_another_hospitals_slot_is_404(hospital_a, hospital_b, patient_client):
    foreign = make_session(make_expert(hospital_b))[0]
    response = book(patient_client, foreign)
    assert (response.status_code, _code(response)) == (404, "not_found")
    assert slot_state(foreign) == (5, 0, 0)


def test_replaying_a_request_with_its_idempotency_key_is_409(hospital_a, expert_a, patient_client):
    slot = make_session(expert_a)[0]
    details = person()
    first = book(patient_client, slot, details, HTTP_IDEMPOTENCY_KEY="booking-key-0001")
    assert first.status_code == 201
    replay = book(patient_client, slot, details, HTTP_IDEMPOTENCY_KEY="booking-key-0001")
    assert (replay.status_code, _code(replay)) == (409, "duplicate_request")
    assert replay.json()["error"]["fields"]["appointment"] == [str(first.json()["id"])]
    # the same key on a different request is a misuse
    other = make_session(make_expert(hospital_a, name="赵敏", department_name="骨科"), days_ahead=9)[0]
    misuse = book(patient_client, other, details, HTTP_IDEMPOTENCY_KEY="booking-key-0001")
    assert (misuse.status_code, _code(misuse)) == (400, "idempotency_key_reused")
    bad_key = book(patient_client, other, details, HTTP_IDEMPOTENCY_KEY="no")
    assert (bad_key.status_code, _code(bad_key)) == (400, "invalid")
    assert slot_state(slot) == (5, 1, 0) and slot_state(other) == (5, 0, 0)


def test_no_shows_block_booking_for_a_period(hospital_a, expert_a, patient_user, patient_client):
    from apps.booking.hospital_services import no_shows_mark

    set_rule(hospital_a, "booking.no_show_limit", 2)
    set_rule(hospital_a, "booking.forbid_overlapping", False)
    set_rule(hospital_a, "booking.one_per_expert_per_day", False)
    details = person()
    slots = make_session(expert_a)
    for slot in slots[:2]:
        assert book(patient_client, slot, details).status_code == 201
    # the appointments pass without the patient coming
    with tenant_context(hospital_a.pk):
        Appointment.objects.update(end=timezone.now() - datetime.timedelta(hours=2))
        assert no_shows_mark() == 2
        assert no_shows_mark() == 0  # idempotent
    response = book(patient_client, slots[2], details)
    assert (response.status_code, _code(response)) == (403, "booking_blocked")
    assert "blocked_until" in response.json()["error"]["fields"]


def test_patients_only_and_staff_are_refused(hospital_a, expert_a, doctor_a):
    slot = make_session(expert_a)[0]
    response = book(client_for(doctor_a), slot)
    assert (response.status_code, _code(response)) == (403, "permission_denied")


def test_every_booking_write_is_audited(hospital_a, expert_a, patient_user, patient_client):
    slot = make_session(expert_a)[0]
    appointment = book(patient_client, slot).json()
    patient_client.post(f"{URL}{appointment['id']}/cancel/")
    refused = book(patient_client, slot, {**person(), "national_id": "11010119900101001X"})
    assert refused.status_code == 400
    with tenant_context(hospital_a.pk):
        actions = list(AuditEvent.objects.filter(actor_id=patient_user.pk).values_list("action", "outcome"))
    assert ("appointment.book", "success") in actions
    assert ("appointment.cancel", "success") in actions
    assert ("patient.create", "success") in actions
    assert ("appointment.create", "invalid") in actions


def _queries_for(client, url, params=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}).status_code == 200
    return len(queries.captured_queries)


def test_list_endpoints_do_not_query_per_row(hospital_a, hospital_b, expert_a, patient_client, api_client, settings):
    settings.AUDIT_CHAIN_SHARDS = 1  # a first event on a new shard creates its chain head: two more statements
    # the caller's appointments: the same statements for two rows as for six
    set_rule(hospital_a, "booking.one_per_expert_per_day", False)
    slots = make_session(expert_a, slot_minutes=60, period="custom", start_time=datetime.time(8),
                         end_time=datetime.time(14))
    details = person()
    for slot in slots[:2]:
        assert book(patient_client, slot, details).status_code == 201
    two = _queries_for(patient_client, URL)
    for slot in slots[2:6]:
        assert book(patient_client, slot, details).status_code == 201
    assert len(patient_client.get(URL).json()["results"]) == 6
    assert _queries_for(patient_client, URL) == two
    # the catalogue: the same for one expert as for many, across hospitals
    api_client.get("/api/v1/booking/experts/")  # its first read creates the platform audit chain's head
    one = _queries_for(api_client, "/api/v1/booking/experts/")
    for index in range(5):
        make_expert(hospital_b, name=f"专家{index}", department_name=f"科室{index}")
    assert len(api_client.get("/api/v1/booking/experts/").json()["results"]) == 6
    assert _queries_for(api_client, "/api/v1/booking/experts/") == one
