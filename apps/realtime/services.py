from django.db import transaction
from django.utils import timezone

from apps.privacy.services import audit_record
from apps.tenancy.roles import STAFF_ROLES

from .models import Notice
from .publish import publish


def notice_send(*, hospital_id: int, actor, role: str, title: str, body: str, roles: list[str]) -> Notice:
    """Store a notice and queue its delivery once the notice is committed."""
    from .tasks import notice_deliver

    unknown = set(roles) - STAFF_ROLES
    if unknown:
        raise ValueError(f"not staff roles: {sorted(unknown)}")
    with transaction.atomic():
        notice = Notice.objects.create(hospital_id=hospital_id, title=title, body=body, audience=Notice.audience_for(roles),
                                       created_by=actor)
        audit_record(action="notice.create", actor=actor, role=role, hospital_id=hospital_id,
                     object_type="notice", object_id=notice.pk)
        transaction.on_commit(lambda: notice_deliver.delay(hospital_id=hospital_id, notice_id=notice.pk))
    return notice


def notice_deliver_now(*, notice_id: int) -> bool:
    """Push a notice to its roles once. Idempotent: a redelivered task (acks_late,
    worker restart) finds it delivered and sends nothing. Returns whether it sent."""
    with transaction.atomic():
        notice = Notice.objects.select_for_update().filter(pk=notice_id).first()
        if notice is None or notice.delivered_at is not None:
            return False
        notice.delivered_at = timezone.now()
        notice.save(update_fields=["delivered_at"])
        publish("notice.created",
                {"id": notice.pk, "title": notice.title, "body": notice.body},
                hospital_id=notice.hospital_id, roles=notice.roles)
    return True
