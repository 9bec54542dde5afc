"""The audit event as the rules see it: a plain, immutable row, built from an
AuditEvent (detection) or generated (bench/compliance_detection.py), so the same
rule code runs on both."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class EventRow:
    id: str
    occurred_at: datetime
    actor_id: int | None
    role: str
    action: str
    outcome: str = "success"
    patient_id: int | None = None
    patient_ids: tuple = ()          # patients shown by a list page or carried by an export
    ip: str | None = None
    actor_username: str = ""
    token_id: str = ""               # the API token the request used, when known
    username: str = ""               # the username a failed login tried
    purpose: str = ""                # why data left (egress events)
    deidentified: bool | None = None  # whether what left was de-identified

    @property
    def patients(self) -> tuple:
        return ((self.patient_id,) if self.patient_id is not None else ()) + tuple(self.patient_ids)


LOGIN_ACTIONS = frozenset({"auth.login", "auth.session_login", "auth.wechat_login"})


def event_row(event) -> EventRow:
    """An AuditEvent as an EventRow."""
    detail = event.detail or {}
    token = detail.get("token_id") or (event.object_id if event.object_type == "api_token"
                                       and event.action in LOGIN_ACTIONS else "")
    ids = detail.get("patient_ids") or ()
    return EventRow(
        id=str(event.pk), occurred_at=event.occurred_at, actor_id=event.actor_id, role=event.role,
        action=event.action, outcome=event.outcome, patient_id=event.patient_id,
        patient_ids=tuple(i for i in ids if isinstance(i, int) and i != event.patient_id),
        ip=event.ip, actor_username=event.actor_username, token_id=str(token or ""),
        username=str(detail.get("username") or "")[:150], purpose=str(detail.get("purpose") or ""),
        deidentified=detail.get("deidentified") if isinstance(detail.get("deidentified"), bool) else None,
    )
