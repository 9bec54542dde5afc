"""Patients hear about their bookings over the WebSocket's channel layer and as
WeChat subscribe messages (a fake WeChat server on loopback)."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from rest_framework.test import APIClient

from apps.booking.hospital_services import schedule_stop
from apps.configuration.services import setting_set
from apps.configuration.selectors import forget_local
from apps.privacy.models import AuditEvent
from apps.realtime.groups import user_group
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Membership
from apps.tenancy.roles import Role
from tests.factories import member_of

from .conftest import book, make_session, person

TEMPLATE = "tmpl-appointment-status"


def _wechat_patient(fake_wechat, hospital):
    code, openid = fake_wechat.issue_code()
    response = APIClient().post("/api/v1/auth/wechat/", {"code": code, "hospital": hospital.slug}, format="json")
    assert response.status_code == 201
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    user = Membership.objects.get(hospital=hospital, role=Role.PATIENT).user
    return client, user, openid


def _use_template(hospital):
    setting_set(key="booking.wechat_template_id", value=TEMPLATE, actor=member_of(hospital, Role.PLATFORM_ADMIN),
                role=Role.PLATFORM_ADMIN, hospital_id=None)
    forget_local()


def _listen(user):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(user.pk), channel)
    return layer, channel


def _received(layer, channel):
    return async_to_sync(layer.receive)(channel)["event"]


def test_booking_sends_a_websocket_event_and_a_wechat_message(fake_wechat, hospital_a, expert_a,
                                                              django_capture_on_commit_callbacks):
    client, user, openid = _wechat_patient(fake_wechat, hospital_a)
    fake_wechat.grant_subscription(openid, TEMPLATE)
    _use_template(hospital_a)
    layer, channel = _listen(user)
    slot = make_session(expert_a)[0]
    # when the patient books (and the transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        voucher = book(client, slot, person()).json()
    # then the WebSocket group of that user gets the event
    event = _received(layer, channel)
    assert event["type"] == "booking.booked"
    assert event["data"]["appointment"] == voucher["id"]
    assert event["data"]["visit_number"] == 1
    # and WeChat got one subscribe message for the patient's openid
    assert len(fake_wechat.sent) == 1
    message = fake_wechat.sent[0]
    assert (message["touser"], message["template_id"]) == (openid, TEMPLATE)
    assert message["data"]["character_string4"]["value"] == "1"
    assert message["data"]["thing3"]["value"] == "预约成功"
    with tenant_context(hospital_a.pk):
        assert AuditEvent.objects.filter(action="booking.wechat_notice", detail__outcome="sent").count() == 1


def test_without_the_users_subscription_nothing_is_sent_and_that_is_recorded(
        fake_wechat, hospital_a, expert_a, django_capture_on_commit_callbacks):
    client, _user, _openid = _wechat_patient(fake_wechat, hospital_a)
    _use_template(hospital_a)
    slot = make_session(expert_a)[0]
    with django_capture_on_commit_callbacks(execute=True):
        assert book(client, slot, person()).status_code == 201
    assert fake_wechat.sent == []
    with tenant_context(hospital_a.pk):
        assert AuditEvent.objects.filter(action="booking.wechat_notice", detail__outcome="no_quota").count() == 1


def test_stopping_a_session_cancels_and_notifies_every_booked_patient(
        fake_wechat, hospital_a, expert_a, django_capture_on_commit_callbacks):
    client, user, openid = _wechat_patient(fake_wechat, hospital_a)
    fake_wechat.grant_subscription(openid, TEMPLATE, times=2)
    _use_template(hospital_a)
    slots = make_session(expert_a)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(client, slots[0], person()).json()
    layer, channel = _listen(user)
    admin = member_of(hospital_a, Role.HOSPITAL_ADMIN)
    with django_capture_on_commit_callbacks(execute=True), tenant_context(hospital_a.pk):
        cancelled = schedule_stop(actor=admin, role=Role.HOSPITAL_ADMIN, schedule_id=slots[0].schedule_id,
                                  reason="专家临时出诊任务")
    assert cancelled == 1
    event = _received(layer, channel)
    assert (event["type"], event["data"]["appointment"]) == ("booking.cancelled_by_hospital", appointment["id"])
    assert [m["data"]["thing3"]["value"] for m in fake_wechat.sent] == ["预约成功", "医院停诊，预约已取消"]
    mine = client.get("/api/v1/booking/appointments/").json()["results"]
    assert mine[0]["status"] == "cancelled_by_hospital"


def test_a_wechat_outage_does_not_fail_the_booking(fake_wechat, hospital_a, expert_a, settings,
                                                  django_capture_on_commit_callbacks):
    client, _user, openid = _wechat_patient(fake_wechat, hospital_a)
    fake_wechat.grant_subscription(openid, TEMPLATE)
    _use_template(hospital_a)
    fake_wechat.fail_next_sends(1)
    slot = make_session(expert_a)[0]
    settings.CELERY_TASK_EAGER_PROPAGATES = False  # an eager retry is what a worker would do next
    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, slot, person())
    assert response.status_code == 201
    # the task retried after WeChat's "system busy" and the message went out
    assert len(fake_wechat.sent) == 1
