"""Dispatch in one process (eager Celery) against the loopback WeChat fake: each dose
round is sent once, the no-quota fallback is recorded on the plan, a dead worker's
claims are settled without a second WeChat message, and the patient's WebSocket
receives the reminder."""

import datetime

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.accounts.services import token_issue
from apps.accounts.wechat_subscribe import BulkSender
from apps.reminders import dispatch
from apps.reminders.models import Dose, DoseEvent, MedicationPlan
from apps.reminders.tasks import dispatch_due
from apps.tenancy.context import tenant_context

from .conftest import a_plan, due_dose, make_patient

TEMPLATE = "medication-reminder"


def _sent_dose_ids(fake):
    return [int(message["page"].rsplit("=", 1)[1]) for message in fake.sent]


def _reload(dose):
    with tenant_context(dose.hospital_id):
        return Dose.objects.select_related("plan").get(pk=dose.pk)


def test_a_due_dose_is_sent_once_over_wechat_even_when_beat_fires_twice(fake_wechat, patient_a):
    # Given a due dose and quota for several messages
    fake_wechat.grant_subscription("o-wangfang", TEMPLATE, times=5)
    dose = due_dose(a_plan(patient_a.patient), minutes_ago=0.5)

    # When beat fires twice and a duplicated batch arrives as well
    dispatch_due.delay()
    dispatch_due.delay()
    dispatch.dispatch_doses(hospital_id=dose.hospital_id, dose_ids=[dose.pk])

    # Then one message, with the drug, the Shanghai time and the notes
    assert _sent_dose_ids(fake_wechat) == [dose.pk]
    message = fake_wechat.sent[0]
    local = dose.scheduled_at.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    assert message["data"]["thing1"]["value"] == "二甲双胍 500 mg"
    assert message["data"]["time2"]["value"] == local.strftime("%Y-%m-%d %H:%M")
    assert message["data"]["thing3"]["value"] == "饭后半小时"
    reloaded = _reload(dose)
    assert (reloaded.dispatch_state, reloaded.wechat_result) == (Dose.Dispatch.SENT, Dose.WeChatResult.SENT)
    with tenant_context(dose.hospital_id):
        ledger = DoseEvent.objects.get(dose=dose, kind=DoseEvent.Kind.REMINDED)
    assert (ledger.detail, ledger.occurred_at, ledger.plan_id) == (
        {"round": 0, "wechat": "sent"}, reloaded.reminded_at, dose.plan_id)
    assert ledger.id.version == 4


def test_no_quota_falls_back_to_in_app_and_the_plan_says_so(fake_wechat, patient_a):
    # Given no subscription quota at all
    dose = due_dose(a_plan(patient_a.patient), minutes_ago=1)

    dispatch_due.delay()

    reloaded = _reload(dose)
    assert (reloaded.dispatch_state, reloaded.wechat_result) == (Dose.Dispatch.SENT, Dose.WeChatResult.NO_QUOTA)
    assert reloaded.plan.reminder_channel == MedicationPlan.Channel.IN_APP_NO_QUOTA
    assert fake_wechat.sent == []
    shown = patient_a.client.get(f"/api/v1/reminders/plans/{reloaded.plan_id}/").json()
    assert shown["reminder_channel"] == "in_app_no_quota"


def test_a_patient_without_wechat_gets_in_app_only(fake_wechat, hospital_a):
    account = make_patient(hospital_a, "赵敏", openid=None)
    dose = due_dose(a_plan(account.patient), minutes_ago=1)

    dispatch_due.delay()

    reloaded = _reload(dose)
    assert (reloaded.wechat_result, reloaded.plan.reminder_channel) == ("no_account", "in_app_no_account")


def test_wechat_busy_twice_is_recorded_and_not_retried_forever(fake_wechat, patient_a):
    fake_wechat.grant_subscription("o-wangfang", TEMPLATE)
    fake_wechat.fail_next_sends(2)
    dose = due_dose(a_plan(patient_a.patient), minutes_ago=1)

    dispatch_due.delay()
    dispatch_due.delay()

    assert _reload(dose).wechat_result == Dose.WeChatResult.UNAVAILABLE
    assert fake_wechat.sent == []


def test_doses_not_yet_due_wait(fake_wechat, patient_a):
    fake_wechat.grant_subscription("o-wangfang", TEMPLATE)
    dose = due_dose(a_plan(patient_a.patient), minutes_ago=-5)

    dispatch_due.delay()
    dispatch.dispatch_doses(hospital_id=dose.hospital_id, dose_ids=[dose.pk])

    assert _reload(dose).dispatch_state == Dose.Dispatch.PENDING
    assert fake_wechat.sent == []


def test_a_snoozed_dose_is_reminded_again_once(fake_wechat, patient_a):
    fake_wechat.grant_subscription("o-wangfang", TEMPLATE, times=5)
    dose = due_dose(a_plan(patient_a.patient), minutes_ago=1)
    dispatch_due.delay()
    patient_a.client.post(f"/api/v1/reminders/doses/{dose.pk}/snooze/", {"minutes": 5}, format="json")
    # the snooze is over
    with tenant_context(dose.hospital_id):
        Dose.objects.filter(pk=dose.pk).update(remind_at=timezone.now())

    dispatch_due.delay()
    dispatch_due.delay()

    assert _sent_dose_ids(fake_wechat) == [dose.pk, dose.pk]
    assert _reload(dose).reminder_round == 1


def test_a_dead_workers_claims_are_settled_without_a_second_wechat_message(fake_wechat, patient_a):
    # Given a dose a worker claimed long ago and never recorded (it died mid-send)
    fake_wechat.grant_subscription("o-wangfang", TEMPLATE)
    dose = due_dose(a_plan(patient_a.patient), minutes_ago=30)
    with tenant_context(dose.hospital_id):
        Dose.objects.filter(pk=dose.pk).update(dispatch_state=Dose.Dispatch.SENDING,
                                               claimed_at=timezone.now() - datetime.timedelta(minutes=10))

    # When beat runs
    result = dispatch_due.delay().get()

    # Then it is recorded as sent with WeChat's answer unknown, and WeChat is not asked again
    assert result["settled"] == 1
    reloaded = _reload(dose)
    assert (reloaded.dispatch_state, reloaded.wechat_result) == (Dose.Dispatch.SENT, Dose.WeChatResult.UNKNOWN)
    assert fake_wechat.sent == []


def test_a_marked_dose_is_not_reminded(fake_wechat, patient_a):
    fake_wechat.grant_subscription("o-wangfang", TEMPLATE)
    dose = due_dose(a_plan(patient_a.patient), minutes_ago=1)
    patient_a.client.post(f"/api/v1/reminders/doses/{dose.pk}/mark/", {"status": "taken"}, format="json")

    dispatch_due.delay()

    assert fake_wechat.sent == []
    assert _reload(dose).dispatch_state == Dose.Dispatch.CANCELLED


@pytest.mark.django_db(transaction=True)
async def test_the_patient_receives_the_reminder_over_the_websocket(fake_wechat, settings):
    from hospital_platform.asgi import application
    from tests.factories import HospitalFactory

    @database_sync_to_async
    def given():
        hospital = HospitalFactory(slug="ws-reminders")
        account = make_patient(hospital, "孙丽", openid="o-sunli")
        dose = due_dose(a_plan(account.patient), minutes_ago=1)
        return dose, token_issue(user=account.user, kind=ApiToken.Kind.WECHAT)[0]

    dose, token = await given()
    communicator = WebsocketCommunicator(application, "/ws/v1/events/",
                                         headers=[(b"authorization", f"Bearer {token}".encode())])
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "connection.ready"

    await database_sync_to_async(lambda: dispatch_due.delay())()

    event = await communicator.receive_json_from(timeout=10)
    assert event["type"] == "reminders.dose_due"
    assert (event["data"]["dose"], event["data"]["drug"], event["data"]["round"]) == (dose.pk, "二甲双胍", 0)
    assert event["data"]["due_at"].endswith("+08:00")
    await communicator.disconnect()
    await database_sync_to_async(connections.close_all)()


def test_a_send_that_times_out_is_not_repeated(fake_wechat, patient_a, settings):
    # Given WeChat delivers the message but answers after our timeout
    settings.WECHAT_TIMEOUT_SECONDS = 0.3
    fake_wechat.grant_subscription("o-wangfang", TEMPLATE, times=5)
    fake_wechat.delay_next_sends(1, 1.0)
    dose = due_dose(a_plan(patient_a.patient), minutes_ago=1)

    dispatch_due.delay()

    # Then it is recorded unavailable and not sent a second time
    assert _reload(dose).wechat_result == Dose.WeChatResult.UNAVAILABLE
    assert _sent_dose_ids(fake_wechat) == [dose.pk]


def test_a_worker_slower_than_the_lease_does_not_record_what_the_sweep_settled(fake_wechat, patient_a):
    # Given a worker that claimed a dose and sent its message, then stalled past the lease
    fake_wechat.grant_subscription("o-wangfang", TEMPLATE)
    dose = due_dose(a_plan(patient_a.patient), minutes_ago=1)
    claimed_at, claimed = dispatch._claim(dose.hospital_id, [dose.pk])
    with BulkSender() as sender:
        sending = dispatch._start_sending(sender, claimed_at, claimed, TEMPLATE)
        sending.results.result()
    # and beat's sweep settled the claim meanwhile
    later = timezone.now() + datetime.timedelta(minutes=10)
    assert dispatch.stale_claims_settle(hospital_id=dose.hospital_id, now=later) == 1

    # When the slow worker gets round to recording
    dispatch._record_sent(dose.hospital_id, sending, {})

    # Then the dose keeps the sweep's record and the ledger says "reminded" once
    assert _reload(dose).wechat_result == Dose.WeChatResult.UNKNOWN
    with tenant_context(dose.hospital_id):
        assert DoseEvent.objects.filter(dose=dose, kind=DoseEvent.Kind.REMINDED).count() == 1
    assert _sent_dose_ids(fake_wechat) == [dose.pk]


def test_the_plan_goes_back_to_wechat_once_a_message_goes_through_again(fake_wechat, patient_a):
    # Given a plan that fell back to in-app reminders for lack of quota
    plan = a_plan(patient_a.patient)
    first = due_dose(plan, minutes_ago=2, index=0)
    dispatch_due.delay()
    assert _reload(first).plan.reminder_channel == MedicationPlan.Channel.IN_APP_NO_QUOTA

    # When the patient allows messages again and the next dose is due
    fake_wechat.grant_subscription("o-wangfang", TEMPLATE)
    second = due_dose(plan, minutes_ago=1, index=1)
    dispatch_due.delay()

    # Then the plan says WeChat again
    reloaded = _reload(second)
    assert (reloaded.wechat_result, reloaded.plan.reminder_channel) == ("sent", MedicationPlan.Channel.WECHAT)
