"""The waitlist: a freed place is offered to the first in line, held for them for
the offer window, then moves on."""

import datetime

from django.utils import timezone

from apps.booking.models import WaitlistEntry
from apps.booking.services import waitlist_offers_expire
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

from .conftest import book, make_session, person, slot_state

WAITLIST = "/api/v1/booking/waitlist/"


def _code(response):
    return response.json()["error"]["code"]


def _full_slot(hospital, expert):
    slot = make_session(expert, capacity=1)[0]
    holder = client_for(member_of(hospital, Role.PATIENT))
    appointment = book(holder, slot).json()
    return slot, holder, appointment


def _join(hospital, slot):
    client = client_for(member_of(hospital, Role.PATIENT))
    response = client.post(WAITLIST, {"slot": slot.pk, "patient": person()}, format="json")
    return client, response


def test_joining_a_full_slots_waitlist_gives_a_position(hospital_a, expert_a):
    slot, _holder, _ = _full_slot(hospital_a, expert_a)
    _first, first = _join(hospital_a, slot)
    _second, second = _join(hospital_a, slot)
    assert (first.status_code, first.json()["position"]) == (201, 1)
    assert (second.status_code, second.json()["position"]) == (201, 2)


def test_a_slot_with_places_has_no_waitlist(hospital_a, expert_a):
    slot = make_session(expert_a)[0]
    _client, response = _join(hospital_a, slot)
    assert (response.status_code, _code(response)) == (409, "slot_available")


def test_joining_twice_is_refused(hospital_a, expert_a):
    slot, _holder, _ = _full_slot(hospital_a, expert_a)
    client = client_for(member_of(hospital_a, Role.PATIENT))
    details = person()
    assert client.post(WAITLIST, {"slot": slot.pk, "patient": details}, format="json").status_code == 201
    again = client.post(WAITLIST, {"slot": slot.pk, "patient": details}, format="json")
    assert (again.status_code, _code(again)) == (409, "already_waitlisted")


def test_a_cancellation_offers_the_place_to_the_first_in_line_who_accepts(hospital_a, expert_a):
    slot, holder, appointment = _full_slot(hospital_a, expert_a)
    first_client, first = _join(hospital_a, slot)
    _second_client, second = _join(hospital_a, slot)
    # when the holder cancels
    assert holder.post(f"/api/v1/booking/appointments/{appointment['id']}/cancel/").status_code == 200
    # then the place is held for the first in line, not open to anyone
    assert slot_state(slot) == (1, 0, 1)
    outsider = book(client_for(member_of(hospital_a, Role.PATIENT)), slot)
    assert (outsider.status_code, _code(outsider)) == (409, "slot_full")
    entries = {row["id"]: row for row in first_client.get(WAITLIST).json()["results"]}
    assert entries[first.json()["id"]]["status"] == "offered"
    assert entries[first.json()["id"]]["offer_expires_at"] is not None
    # and accepting turns it into a booking with the next visit number
    accepted = first_client.post(f"{WAITLIST}{first.json()['id']}/accept/")
    assert accepted.status_code == 201, accepted.json()
    assert (accepted.json()["status"], accepted.json()["visit_number"]) == ("booked", 2)
    assert accepted.json()["qr"].startswith("data:image/png")
    assert slot_state(slot) == (1, 1, 0)
    # the second in line was not offered anything
    with tenant_context(hospital_a.pk):
        assert WaitlistEntry.objects.get(pk=second.json()["id"]).status == "waiting"


def test_an_expired_offer_moves_on_to_the_next_then_frees_the_place(hospital_a, expert_a):
    slot, holder, appointment = _full_slot(hospital_a, expert_a)
    first_client, first = _join(hospital_a, slot)
    _second_client, second = _join(hospital_a, slot)
    holder.post(f"/api/v1/booking/appointments/{appointment['id']}/cancel/")
    past = timezone.now() - datetime.timedelta(seconds=1)
    with tenant_context(hospital_a.pk):
        WaitlistEntry.objects.filter(pk=first.json()["id"]).update(offer_expires_at=past)
        assert waitlist_offers_expire() == 1
        assert WaitlistEntry.objects.get(pk=first.json()["id"]).status == "expired"
        assert WaitlistEntry.objects.get(pk=second.json()["id"]).status == "offered"
    assert slot_state(slot) == (1, 0, 1)
    # the first cannot accept any more
    late = first_client.post(f"{WAITLIST}{first.json()['id']}/accept/")
    assert (late.status_code, _code(late)) == (409, "no_open_offer")
    # the second lets it lapse too: nobody is left, so the place is free again
    with tenant_context(hospital_a.pk):
        WaitlistEntry.objects.filter(pk=second.json()["id"]).update(offer_expires_at=past)
        assert waitlist_offers_expire() == 1
    assert slot_state(slot) == (1, 0, 0)


def test_leaving_with_an_offer_passes_it_on(hospital_a, expert_a):
    slot, holder, appointment = _full_slot(hospital_a, expert_a)
    first_client, first = _join(hospital_a, slot)
    _second_client, second = _join(hospital_a, slot)
    holder.post(f"/api/v1/booking/appointments/{appointment['id']}/cancel/")
    left = first_client.post(f"{WAITLIST}{first.json()['id']}/leave/")
    assert (left.status_code, left.json()["status"]) == (200, "left")
    with tenant_context(hospital_a.pk):
        assert WaitlistEntry.objects.get(pk=second.json()["id"]).status == "offered"
    assert slot_state(slot) == (1, 0, 1)


def test_someone_elses_entry_is_404(hospital_a, expert_a):
    slot, _holder, _ = _full_slot(hospital_a, expert_a)
    _client, entry = _join(hospital_a, slot)
    stranger = client_for(member_of(hospital_a, Role.PATIENT))
    assert stranger.post(f"{WAITLIST}{entry.json()['id']}/leave/").status_code == 404
    assert stranger.post(f"{WAITLIST}{entry.json()['id']}/accept/").status_code == 404
