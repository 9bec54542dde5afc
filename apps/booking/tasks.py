from celery import shared_task

from apps.accounts.wechat_subscribe import openid_of, send_subscribe_message
from apps.configuration.selectors import setting_value
from apps.core.exceptions import UpstreamUnavailableError
from apps.privacy.services import audit_record
from apps.tenancy.models import Hospital
from apps.tenancy.tasks import TenantTask

from .models import Appointment, WaitlistEntry
from .notifications import wechat_message_data


@shared_task(base=TenantTask, name="booking.wechat_notify", autoretry_for=(UpstreamUnavailableError,),
             retry_backoff=5, retry_backoff_max=300, max_retries=5)
def booking_wechat_notify(*, hospital_id: int, kind: str, appointment_id: int | None = None,
                          waitlist_entry_id: int | None = None) -> str:
    """Send one WeChat subscribe message about an appointment or a waitlist offer.
    Returns what happened ("sent", or why not); a WeChat outage retries with backoff."""
    template_id = setting_value("booking.wechat_template_id")
    if appointment_id is not None:
        subject = Appointment.objects.select_related("user__wechat_account", "expert__department", "slot").filter(
            pk=appointment_id).first()
        visit_number = subject.visit_number if subject else None
    else:
        subject = WaitlistEntry.objects.select_related("user__wechat_account", "slot__expert__department").filter(
            pk=waitlist_entry_id).first()
        visit_number = None
    if subject is None:
        return "gone"
    openid = openid_of(subject.user)
    if not template_id or openid is None:
        outcome = "no_template" if not template_id else "no_openid"
    else:
        expert = subject.slot.expert
        result = send_subscribe_message(openid=openid, template_id=template_id, page="pages/booking/index",
                                        data=wechat_message_data(expert_name=expert.name,
                                                                 department=expert.department.name,
                                                                 start=subject.slot.start, visit_number=visit_number,
                                                                 kind=kind))
        outcome = "sent" if result.sent else result.reason
    audit_record(action="booking.wechat_notice", hospital_id=hospital_id,
                 object_type="appointment" if appointment_id else "waitlist_entry",
                 object_id=appointment_id or waitlist_entry_id, patient_id=subject.patient_id,
                 detail={"kind": kind, "outcome": outcome})
    return outcome


@shared_task(base=TenantTask, name="booking.hospital_sweep")
def booking_hospital_sweep(*, hospital_id: int) -> dict:
    """One hospital's periodic work: expire waitlist offers (moving each place on)
    and mark no-shows."""
    from .hospital_services import no_shows_mark
    from .services import waitlist_offers_expire

    return {"offers_expired": waitlist_offers_expire(), "no_shows": no_shows_mark()}


@shared_task(name="booking.sweep")
def booking_sweep() -> int:
    """The beat job: queue each active hospital's sweep. Hospitals with nothing to do
    cost one cheap query each."""
    hospitals = list(Hospital.objects.filter(active=True).values_list("pk", flat=True))
    for hospital_id in hospitals:
        booking_hospital_sweep.delay(hospital_id=hospital_id)
    return len(hospitals)

