"""Adherence through /api/v1/reminders/doses/: marking, snoozing, the missed-dose
job with its catch-up advice, the ledger and rate, and refill reminders."""

import datetime

import pytest
from django.utils import timezone

from apps.configuration.services import setting_set
from apps.reminders.models import Dose, DoseEvent, MedicationPlan
from apps.reminders.services import doses_mark_missed
from apps.reminders.tasks import mark_missed
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.factories import member_of

from .conftest import a_plan, due_dose

DOSES = "/api/v1/reminders/doses/"


def _mark(account, dose, status):
    return account.client.post(f"{DOSES}{dose.pk}/mark/", {"status": status}, format="json")


def test_a_dose_taken_on_time_is_taken_and_a_late_one_taken_late(patient_a):
    plan = a_plan(patient_a.patient)
    on_time, late = due_dose(plan, minutes_ago=5, index=0), due_dose(plan, minutes_ago=180, index=1)

    first = _mark(patient_a, on_time, "taken")
    second = _mark(patient_a, late, "taken")

    assert (first.status_code, first.json()["status"]) == (200, "taken")
    assert second.json()["status"] == "taken_late"


def test_a_dose_cannot_be_marked_twice_or_before_it_is_due(patient_a):
    plan = a_plan(patient_a.patient)
    dose = due_dose(plan, minutes_ago=5)
    future = due_dose(plan, minutes_ago=-300, index=1)
    _mark(patient_a, dose, "skipped")

    again = _mark(patient_a, dose, "taken")
    early = _mark(patient_a, future, "taken")
    nonsense = _mark(patient_a, dose, "eaten")

    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_marked")
    assert (early.status_code, early.json()["error"]["code"]) == (400, "dose_not_due")
    assert nonsense.status_code == 400
    dose.refresh_from_db()
    assert dose.status == Dose.Status.SKIPPED


def test_another_patients_dose_is_not_found(patient_a, other_patient_a):
    dose = due_dose(a_plan(other_patient_a.patient), minutes_ago=5)

    response = _mark(patient_a, dose, "taken")

    assert response.status_code == 404
    dose.refresh_from_db()
    assert dose.status == Dose.Status.SCHEDULED


def test_the_missed_job_marks_old_doses_and_the_advice_follows_the_rule(patient_a, hospital_a):
    # Given a twice-daily plan (interval 12 h) with doses 3 h and 7 h overdue, and one 10 minutes
    plan = a_plan(patient_a.patient)
    three, seven = due_dose(plan, minutes_ago=180, index=0), due_dose(plan, minutes_ago=420, index=1)
    recent = due_dose(plan, minutes_ago=10, index=2)

    # When the periodic job runs
    marked = mark_missed.delay().get()

    # Then both old doses are missed, the recent one not yet
    assert marked[hospital_a.pk] == 2
    doses = {dose["id"]: dose for dose in patient_a.client.get(DOSES, {"status": "missed"}).json()["results"]}
    assert set(doses) == {three.pk, seven.pk}
    # and the advice: under half the interval (6 h) take it now, over it skip it
    assert doses[three.pk]["catch_up"]["advice"] == "take_now"
    assert doses[seven.pk]["catch_up"]["advice"] == "skip"
    assert doses[seven.pk]["catch_up"]["rule_fraction"] == 0.5
    recent.refresh_from_db()
    assert recent.status == Dose.Status.SCHEDULED


def test_the_catch_up_rule_is_a_hospital_setting(patient_a, hospital_a):
    plan = a_plan(patient_a.patient)
    dose = due_dose(plan, minutes_ago=180)
    admin = member_of(hospital_a, Role.HOSPITAL_ADMIN)
    with tenant_context(hospital_a.pk):
        setting_set(key="reminders.catch_up_max_fraction", value=0.2, actor=admin, role=Role.HOSPITAL_ADMIN,
                    hospital_id=hospital_a.pk)
        doses_mark_missed()

    shown = patient_a.client.get(f"{DOSES}{dose.pk}/").json()

    assert (shown["catch_up"]["advice"], shown["catch_up"]["threshold_minutes"]) == ("skip", 144)


def test_the_ledger_and_adherence_rate(patient_a):
    # Given four settled doses: taken, taken late, skipped, missed
    plan = a_plan(patient_a.patient)
    doses = [due_dose(plan, minutes_ago=minutes, index=index) for index, minutes in enumerate((30, 300, 200, 150))]
    _mark(patient_a, doses[0], "taken")
    _mark(patient_a, doses[1], "taken_late")
    _mark(patient_a, doses[2], "skipped")
    with tenant_context(plan.hospital_id):
        doses_mark_missed(now=timezone.now() + datetime.timedelta(hours=1))

    # When
    history = patient_a.client.get(f"/api/v1/reminders/plans/{plan.pk}/history/").json()

    # Then
    assert history["adherence"] == {"taken": 1, "taken_late": 1, "skipped": 1, "missed": 1, "rate": 0.5}
    assert sorted(event["kind"] for event in history["events"]) == ["missed", "skipped", "taken", "taken_late"]


def test_snooze_moves_the_reminder_and_is_limited(patient_a):
    plan = a_plan(patient_a.patient)
    dose = due_dose(plan, minutes_ago=1)

    first = patient_a.client.post(f"{DOSES}{dose.pk}/snooze/", {"minutes": 15}, format="json")

    assert first.status_code == 200, first.json()
    dose.refresh_from_db()
    assert (dose.reminder_round, dose.dispatch_state) == (1, Dose.Dispatch.PENDING)
    assert dose.remind_at - timezone.now() > datetime.timedelta(minutes=14)
    for _ in range(2):
        assert patient_a.client.post(f"{DOSES}{dose.pk}/snooze/", {}, format="json").status_code == 200
    limit = patient_a.client.post(f"{DOSES}{dose.pk}/snooze/", {}, format="json")
    assert (limit.status_code, limit.json()["error"]["code"]) == (409, "snooze_limit")
    too_long = patient_a.client.post(f"{DOSES}{dose.pk}/snooze/", {"minutes": 600}, format="json")
    assert too_long.status_code == 400


def test_low_supply_reminds_once_and_a_refill_rearms(patient_a):
    # Given 9 tablets, two a day, one per dose: the 3-day threshold is crossed after 4 doses taken
    plan = a_plan(patient_a.patient, supply=9)
    for index in range(4):
        _mark(patient_a, due_dose(plan, minutes_ago=10 + index, index=index), "taken")

    plan.refresh_from_db()
    assert plan.supply_remaining == 5 and plan.refill_reminded_at is not None
    with tenant_context(plan.hospital_id):
        assert DoseEvent.objects.filter(plan=plan, kind=DoseEvent.Kind.REFILL_DUE).count() == 1

    # When the patient refills 30 tablets
    response = patient_a.client.post(f"/api/v1/reminders/plans/{plan.pk}/refill/", {"units": 30}, format="json")

    # Then
    assert response.status_code == 200, response.json()
    assert (response.json()["supply_remaining"], response.json()["refill_reminded_at"]) == (35, None)
    assert response.json()["supply_days_left"] == 17.5


@pytest.mark.parametrize("units", [0, -3, "many", 10_001])
def test_a_refill_needs_a_sensible_number(patient_a, units):
    plan = a_plan(patient_a.patient, supply=5)
    response = patient_a.client.post(f"/api/v1/reminders/plans/{plan.pk}/refill/", {"units": units}, format="json")
    assert response.status_code == 400
    plan.refresh_from_db()
    assert plan.supply_remaining == 5
    with tenant_context(plan.hospital_id):
        assert MedicationPlan.objects.get(pk=plan.pk).supply_remaining == 5
