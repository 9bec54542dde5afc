"""Exactly once with a real worker that dies: a Celery worker process consuming from
Redis is killed (SIGKILL) in the middle of sending 3,000 due reminders, another
worker starts, beat ticks again, and we count what the WeChat fake received."""

import os
import signal
import time
import uuid

import pytest
from django.conf import settings
from django.db import connections

from apps.configuration.services import setting_set
from apps.reminders.dispatch import IN_FLIGHT_SLICES, SLICE_SIZE
from apps.reminders.models import DoseEvent
from apps.reminders.tasks import dispatch_due
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from hospital_platform.celery import app as celery_app
from tests.factories import HospitalFactory, member_of
from tests.support.reminders_dispatch import (TEMPLATE, populate, sent_counts, start_worker, tally,
                                              worker_environment)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.timeout(300)]

DOSES = 3000
LEASE_SECONDS = 10


@pytest.fixture
def queue(postgres):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL); CI always runs it")
    name = f"reminders-{uuid.uuid4().hex[:8]}"  # ours alone on the shared broker
    celery_app.conf.task_always_eager = False
    yield name
    celery_app.conf.task_always_eager = True
    with celery_app.connection_for_write() as connection:
        connection.default_channel.queue_delete(name)
    connections.close_all()


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_worker_killed_mid_dispatch_leaves_no_duplicate_and_no_unexplained_miss(queue, fake_wechat, tmp_path):
    # Given 3,000 patients with WeChat quota, one dose each due now, and a short lease
    hospital = HospitalFactory(slug="dispatch-restart")
    population = populate(hospital=hospital, count=DOSES, app_id=fake_wechat.app_id)
    for openid in population.openids:
        fake_wechat.grant_subscription(openid, TEMPLATE, times=5)
    setting_set(key="reminders.dispatch_lease_seconds", value=LEASE_SECONDS,
                actor=member_of(hospital, Role.PLATFORM_ADMIN), role=Role.PLATFORM_ADMIN, hospital_id=None)
    env = worker_environment(wechat_base_url=fake_wechat.base_url, app_id=fake_wechat.app_id,
                             app_secret=fake_wechat.app_secret)
    first = start_worker(queue=queue, env=env, log_path=tmp_path / "worker-1.log")
    second = None
    try:
        # When beat queues the due doses and the worker is killed once a fifth are sent
        assert dispatch_due(queue=queue)["queued"] == DOSES
        _wait_for(lambda: len(fake_wechat.sent) >= DOSES // 5, 120, "the first worker to send")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        at_kill = len(fake_wechat.sent)
        assert at_kill < DOSES, "the worker finished before it was killed; nothing was tested"

        # and another worker starts, and beat keeps ticking past the lease
        second = start_worker(queue=queue, env=env, log_path=tmp_path / "worker-2.log")

        def everything_dispatched():
            dispatch_due(queue=queue)
            counts = tally(population, fake_wechat)
            return counts["states"].get("sent", 0) == DOSES

        _wait_for(everything_dispatched, 180, "every dose to be dispatched")
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)

    # Then no dose was sent twice over WeChat
    counts = tally(population, fake_wechat)
    assert counts["duplicates"] == []
    # and every dose WeChat did not receive is one the dead worker had in flight,
    # recorded as unknown; at most the slices it had between claim and record
    assert set(counts["missed"]) <= set(counts["unknown"])
    assert len(counts["unknown"]) <= IN_FLIGHT_SLICES * SLICE_SIZE
    assert sum(sent_counts(fake_wechat).values()) + len(counts["missed"]) == DOSES
    # and the ledger says "reminded" exactly once per dose
    with tenant_context(hospital.pk):
        reminded = DoseEvent.objects.filter(dose_id__in=population.dose_ids, kind=DoseEvent.Kind.REMINDED)
        assert reminded.count() == DOSES
        assert reminded.values("dose_id").distinct().count() == DOSES
