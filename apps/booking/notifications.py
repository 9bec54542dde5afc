"""Telling patients what happened to their booking: over the WebSocket at once, and
as a WeChat subscribe message from a Celery task (WeChat may be slow or down; the
booking must not wait for it)."""

from django.db import transaction
from django.utils import timezone

from apps.realtime.publish import publish

from .models import Appointment, WaitlistEntry

# event kind -> the status text shown in the WeChat message (the template's thing3)
STATUS_TEXT = {
    "booked": "预约成功",
    "cancelled": "已取消预约",
    "cancelled_by_hospital": "医院停诊，预约已取消",
    "checked_in": "已签到",
    "no_show": "已记爽约",
    "waitlist_offer": "候补有号，请尽快确认",
    "waitlist_expired": "候补确认已超时",
}


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def appointment_event_data(appointment: Appointment) -> dict:
    return {
        "appointment": appointment.pk, "voucher_code": appointment.voucher_code, "status": appointment.status,
        "visit_number": appointment.visit_number, "start": appointment.start.isoformat(),
        "expert": appointment.expert_id, "slot": appointment.slot_id,
    }


def appointment_notify(appointment: Appointment, kind: str) -> None:
    publish(f"booking.{kind}", appointment_event_data(appointment), user_ids=[appointment.user_id],
            hospital_id=appointment.hospital_id)
    _queue_wechat(appointment.hospital_id, kind, appointment_id=appointment.pk)


def waitlist_notify(entry: WaitlistEntry, kind: str) -> None:
    data = {"waitlist_entry": entry.pk, "slot": entry.slot_id, "status": entry.status,
            "offer_expires_at": entry.offer_expires_at.isoformat() if entry.offer_expires_at else None}
    publish(f"booking.{kind}", data, user_ids=[entry.user_id], hospital_id=entry.hospital_id)
    _queue_wechat(entry.hospital_id, kind, waitlist_entry_id=entry.pk)


def _queue_wechat(hospital_id: int, kind: str, **ids) -> None:
    from .tasks import booking_wechat_notify

    transaction.on_commit(lambda: booking_wechat_notify.delay(hospital_id=hospital_id, kind=kind, **ids))


def wechat_message_data(*, expert_name: str, department: str, start, visit_number, kind: str) -> dict[str, str]:
    return {
        "thing1": f"{expert_name} {department}".strip(),
        "time2": _local(start),
        "thing3": STATUS_TEXT.get(kind, kind),
        "character_string4": str(visit_number) if visit_number else "-",
    }
