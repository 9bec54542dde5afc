from dataclasses import dataclass

from .chain import GENESIS_HASH, event_hash
from .models import AuditChainHead, AuditEvent


@dataclass(frozen=True)
class ChainVerification:
    chain: str
    events_checked: int
    ok: bool
    broken_sequence: int | None = None
    broken_event_id: int | None = None
    reason: str = ""


def audit_chain_verify(*, chain: str) -> ChainVerification:
    """Walk one chain in sequence order and report the first broken link:
    an edited event (hash mismatch), a removed one (sequence gap or a dangling
    previous hash), a reordered one, or events cut off the end (head mismatch)."""
    expected_sequence = 1
    previous_hash = GENESIS_HASH
    checked = 0
    events = AuditEvent.objects.filter(chain=chain).order_by("sequence").iterator(chunk_size=2000)
    for event in events:
        checked += 1
        if event.sequence != expected_sequence:
            return ChainVerification(chain, checked, False, expected_sequence, event.pk,
                                     f"event #{expected_sequence} is missing (next found is #{event.sequence})")
        if event.previous_hash != previous_hash:
            return ChainVerification(chain, checked, False, event.sequence, event.pk,
                                     "previous-hash link does not match the event before it")
        if event_hash(event, previous_hash) != event.hash:
            return ChainVerification(chain, checked, False, event.sequence, event.pk,
                                     "content does not match its hash (the event was edited)")
        previous_hash = event.hash
        expected_sequence += 1
    head = AuditChainHead.objects.filter(chain=chain).first()
    if head is not None and (head.sequence != expected_sequence - 1 or head.hash != previous_hash):
        return ChainVerification(chain, checked, False, expected_sequence, None,
                                 f"chain ends at #{expected_sequence - 1} but its head records #{head.sequence}")
    return ChainVerification(chain, checked, True)


def audit_chains_all() -> list[str]:
    names = set(AuditChainHead.objects.values_list("chain", flat=True))
    names.update(AuditEvent.objects.values_list("chain", flat=True).distinct())
    return sorted(names)
