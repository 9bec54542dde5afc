"""The booking sweep: registered through ensure_periodic_tasks, runs per hospital."""

import datetime

from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.booking.models import Appointment
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from hospital_platform.celery import app as celery_app
from tests.conftest import client_for
from tests.factories import member_of

from .conftest import book, make_session, person


def test_ensure_periodic_tasks_registers_the_booking_sweep_once(db):
    call_command("ensure_periodic_tasks")
    job = PeriodicTask.objects.get(task="booking.sweep")
    assert (job.interval.every, job.interval.period, job.enabled) == (60, "seconds", True)
    PeriodicTask.objects.filter(pk=job.pk).update(enabled=False)
    call_command("ensure_periodic_tasks")
    assert PeriodicTask.objects.filter(task="booking.sweep").count() == 1
    assert PeriodicTask.objects.get(pk=job.pk).enabled is False


def test_the_sweep_marks_no_shows_in_every_hospital(hospital_a, hospital_b, expert_a):
    from .conftest import make_expert

    slots = [make_session(expert_a)[0], make_session(make_expert(hospital_b))[0]]
    for hospital, slot in zip((hospital_a, hospital_b), slots):
        assert book(client_for(member_of(hospital, Role.PATIENT)), slot, person()).status_code == 201
        with tenant_context(hospital.pk):
            Appointment.objects.update(end=timezone.now() - datetime.timedelta(hours=1))
    celery_app.loader.import_default_modules()  # what beat and a worker do at start
    assert celery_app.tasks["booking.sweep"].delay().get() >= 2
    for hospital in (hospital_a, hospital_b):
        with tenant_context(hospital.pk):
            assert list(Appointment.objects.values_list("status", flat=True)) == ["no_show"]
