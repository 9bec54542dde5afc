import secrets

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core.request_context import current_request_info
from apps.tenancy.context import current_hospital_id

from .chain import chain_name, event_hash
from .models import AuditChainHead, AuditEvent, AuditOutcome

_UNSET = object()


def audit_record(
    *,
    action: str,
    actor=None,
    role: str = "",
    hospital_id=_UNSET,
    object_type: str = "",
    object_id="",
    patient_id: int | None = None,
    outcome: str = AuditOutcome.SUCCESS,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one event to its hospital's chain (the current hospital by default).

    Who, from where and which request come from the request context; callers say
    what happened. Runs in its own savepoint: the chain head row lock serialises
    appends per chain, so concurrent writers never fork the chain.
    """
    if hospital_id is _UNSET:
        hospital_id = current_hospital_id()
    info = current_request_info()
    chain = chain_name(hospital_id, shard=_shard_for(hospital_id))
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    event = AuditEvent(
        chain=chain,
        occurred_at=timezone.now(),
        actor_id=actor.pk if authenticated else None,
        actor_username=actor.get_username() if authenticated else "",
        role=role,
        hospital_id=hospital_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id not in (None, "") else "",
        patient_id=patient_id,
        ip=info.ip,
        user_agent=info.user_agent,
        request_id=info.request_id,
        outcome=outcome,
        detail=detail or {},
    )
    with transaction.atomic():
        head = _lock_chain_head(chain)
        event.sequence = head.sequence + 1
        event.previous_hash = head.hash
        event.hash = event_hash(event, head.hash)
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=head.pk).update(sequence=event.sequence, hash=event.hash)
    return event


def _shard_for(hospital_id) -> int:
    """A random shard, the same one for every event of a hospital within one
    transaction. The chain head stays locked until the outermost transaction ends;
    picking a fresh shard per event let two transactions that each append two events
    lock two heads in opposite orders and deadlock (seen with concurrent bookings on
    PostgreSQL, each writing patient.create and appointment.book). With one head per
    hospital per transaction no such cycle exists; concurrent transactions still
    spread over all shards."""
    shards = settings.AUDIT_CHAIN_SHARDS
    if not connection.in_atomic_block:
        return secrets.randbelow(shards)
    outermost = connection.atomic_blocks[0]
    owner, chosen = getattr(connection, "_audit_shards", (None, {}))
    if owner is not outermost:
        owner, chosen = outermost, {}
        connection._audit_shards = (owner, chosen)
    key = (hospital_id, shards)
    if key not in chosen:
        chosen[key] = secrets.randbelow(shards)
    return chosen[key]


def _lock_chain_head(chain: str) -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(chain=chain).first()
    if head is None:
        # A new chain. INSERT ... ON CONFLICT DO NOTHING, so two first writers both
        # get past here, then queue on the row lock like everyone else.
        AuditChainHead.objects.bulk_create([AuditChainHead(chain=chain)], ignore_conflicts=True)
        head = AuditChainHead.objects.select_for_update().get(chain=chain)
    return head
