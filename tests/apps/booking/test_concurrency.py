"""Capacity under real concurrency on PostgreSQL: many clients, each with its own
database connection, send real requests through the whole stack (token
authentication, tenant middleware, row-level security, the booking service) at
the same moment. These run on PostgreSQL only: SQLite serialises writers itself.

PostgreSQL here allows 100 connections shared with other suites, so 200 clients
go through 40 threads (40 requests in flight at once, each thread sending five
after a common start barrier)."""

import threading
from collections import Counter

import pytest
from django.db import connections
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken
from apps.accounts.services import token_issue
from apps.booking.models import Appointment, Slot, WaitlistEntry
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.factories import member_of

from .conftest import make_expert, make_session, person

pytestmark = [pytest.mark.django_db(transaction=True)]
THREADS = 40


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connections["default"].vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL); CI always runs it")


@pytest.fixture(autouse=True)
def _celery_join_flag_reset():
    # Eager tasks (the booking notifications, run on commit) set Celery's process-wide
    # "inside a task" flag and restore the value they found; threads interleaving
    # those steps can leave it set, and a later test's result.get() would then refuse.
    yield
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


def _patients(hospital, count):
    tokens = []
    for _ in range(count):
        raw, _token = token_issue(user=member_of(hospital, Role.PATIENT), kind=ApiToken.Kind.PASSWORD)
        tokens.append(raw)
    return tokens


def _run_in_threads(jobs, threads=THREADS):
    """Run the callables on `threads` threads released together; returns results in order."""
    results = [None] * len(jobs)
    barrier = threading.Barrier(threads)
    errors = []

    def worker(offset):
        try:
            barrier.wait()
            for index in range(offset, len(jobs), threads):
                results[index] = jobs[index]()
        except Exception as error:  # surfaced by the assertion in the caller
            errors.append(error)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    return results


def _book_job(token, slot_id):
    def job():
        client = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.post("/api/v1/booking/appointments/", {"slot": slot_id, "patient": person()},
                               format="json")
        body = response.json()
        return response.status_code, body.get("error", {}).get("code"), body.get("visit_number")

    return job


def _counts(slot):
    with tenant_context(slot.hospital_id):
        fresh = Slot.objects.get(pk=slot.pk)
        live = Appointment.objects.filter(slot=slot).exclude(status__startswith="cancelled").count()
        offered = WaitlistEntry.objects.filter(slot=slot, status="offered").count()
    return fresh, live, offered


def test_200_clients_racing_for_5_places_get_exactly_5(hospital_a):
    slot = make_session(make_expert(hospital_a), capacity=5)[0]
    tokens = _patients(hospital_a, 200)
    results = _run_in_threads([_book_job(token, slot.pk) for token in tokens])
    outcomes = Counter((status, code) for status, code, _number in results)
    assert outcomes == {(201, None): 5, (409, "slot_full"): 195}
    assert sorted(number for status, _code, number in results if status == 201) == [1, 2, 3, 4, 5]
    fresh, live, _offered = _counts(slot)
    assert (fresh.booked, fresh.held, live) == (5, 0, 5)


def test_cancellations_racing_bookings_never_leave_the_count_wrong(hospital_a):
    expert = make_expert(hospital_a)
    slot = make_session(expert, capacity=3)[0]
    holders = _patients(hospital_a, 3)
    held = []
    for token in holders:
        status, _code, _number = _book_job(token, slot.pk)()
        assert status == 201
    with tenant_context(hospital_a.pk):
        held = list(Appointment.objects.filter(slot=slot).order_by("pk").values_list("user_id", "pk"))
    tokens_by_user = {}
    for token in holders:
        client = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
        tokens_by_user[client.get("/api/v1/auth/me/").json()["id"]] = token

    def cancel_job(token, appointment_id):
        def job():
            response = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").post(
                f"/api/v1/booking/appointments/{appointment_id}/cancel/")
            return response.status_code, response.json().get("error", {}).get("code"), None

        return job

    bookers = _patients(hospital_a, 37)
    jobs = [cancel_job(tokens_by_user[user_id], pk) for user_id, pk in held]
    jobs += [_book_job(token, slot.pk) for token in bookers]
    results = _run_in_threads(jobs)
    cancels, books = results[:3], results[3:]
    assert all(status == 200 for status, _code, _n in cancels)
    booked_now = sum(1 for status, _code, _n in books if status == 201)
    assert all((status, code) in ((201, None), (409, "slot_full")) for status, code, _n in books)
    fresh, live, offered = _counts(slot)
    # the counter is exactly the live bookings, and never above capacity
    assert fresh.booked == live == booked_now <= 3
    assert fresh.held == offered == 0


def test_cancel_racing_book_with_a_waitlist_keeps_booked_plus_held_exact(hospital_a):
    slot = make_session(make_expert(hospital_a), capacity=2)[0]
    holders = _patients(hospital_a, 2)
    for token in holders:
        assert _book_job(token, slot.pk)()[0] == 201
    waiting = _patients(hospital_a, 5)
    for token in waiting:
        response = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").post(
            "/api/v1/booking/waitlist/", {"slot": slot.pk, "patient": person()}, format="json")
        assert response.status_code == 201
    with tenant_context(hospital_a.pk):
        appointments = list(Appointment.objects.filter(slot=slot).order_by("pk"))
    by_user = {}
    for token in holders:
        by_user[APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/auth/me/").json()["id"]] = token

    def cancel(appointment):
        return lambda: APIClient(HTTP_AUTHORIZATION=f"Bearer {by_user[appointment.user_id]}").post(
            f"/api/v1/booking/appointments/{appointment.pk}/cancel/").status_code

    jobs = [cancel(appointment) for appointment in appointments]
    jobs += [_book_job(token, slot.pk) for token in _patients(hospital_a, 18)]
    results = _run_in_threads(jobs, threads=20)
    assert results[:2] == [200, 200]
    # freed places went to the waitlist, not to the racing bookers
    assert all((status, code) == (409, "slot_full") for status, code, _n in results[2:])
    fresh, live, offered = _counts(slot)
    assert (fresh.booked, fresh.held) == (live, offered) == (0, 2)
