"""The beat job: shares whose delivery task was lost are queued again; expired nonces go."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.partners.models import InboundNonce, OutboundShare
from apps.partners.services import rare_case_share_decide
from apps.partners.tasks import SWEEP, partners_sweep
from apps.tenancy.context import tenant_context
from tests.support.partners import platform_settings, population, rare_case_make

pytestmark = pytest.mark.django_db


def test_a_share_whose_task_was_lost_is_queued_again(hospital_a, peer, sharing):
    # Given a queued share whose delivery never ran (its next attempt is an hour overdue)
    platform_settings(sharing, max_attempts=1)
    population(hospital_a, count=10)
    with tenant_context(hospital_a.pk):
        share = rare_case_share_decide(case_id=rare_case_make(hospital_a).pk).shares.get()
        OutboundShare.objects.filter(pk=share.pk).update(
            status="queued", attempts=0, next_attempt_at=timezone.now() - datetime.timedelta(hours=1))

    result = partners_sweep.apply().get()

    # then it was tried again (the partner here is a closed port: it fails)
    assert result["requeued"] == 1
    with tenant_context(hospital_a.pk):
        share.refresh_from_db()
    assert share.attempts == 1 and share.status == "failed"


def test_expired_nonces_are_forgotten(peer):
    InboundNonce.objects.create(partner=peer, nonce="a" * 32, expires_at=timezone.now() - datetime.timedelta(1))
    InboundNonce.objects.create(partner=peer, nonce="b" * 32, expires_at=timezone.now() + datetime.timedelta(1))
    assert partners_sweep.apply().get()["nonces_purged"] == 1
    assert list(InboundNonce.objects.values_list("nonce", flat=True)) == ["b" * 32]


def test_the_job_is_created_once(db):
    call_command("ensure_periodic_tasks", stdout=StringIO())
    call_command("ensure_periodic_tasks", stdout=StringIO())
    job = PeriodicTask.objects.get(task=SWEEP)
    assert job.interval.every == 5 and job.interval.period == "minutes"
