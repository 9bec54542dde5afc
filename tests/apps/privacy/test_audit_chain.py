import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction

from apps.privacy.models import AuditEvent
from apps.privacy.selectors import audit_chain_verify
from apps.privacy.services import audit_record
from apps.tenancy.context import tenant_context


@pytest.fixture(autouse=True)
def _one_chain_per_hospital(settings):
    # One shard makes sequence numbers predictable; sharding has its own test below.
    settings.AUDIT_CHAIN_SHARDS = 1


@pytest.fixture
def five_events(hospital_a):
    return [audit_record(action="patient.read", hospital_id=hospital_a.pk, object_type="patient", object_id=n,
                         detail={"n": n}) for n in range(1, 6)]


def _tamper(sql, params):
    """Change the table behind the application's back, as someone with the owner's
    database password could: switch the append-only trigger off first."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE privacy_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE privacy_auditevent ENABLE TRIGGER audit_event_append_only")


def _verify_output():
    out = StringIO()
    try:
        call_command("audit_verify", stdout=out)
    except CommandError as error:
        return out.getvalue(), str(error)
    return out.getvalue(), None


def test_an_untouched_chain_verifies(five_events):
    output, error = _verify_output()
    assert error is None
    assert "OK      hospital:" in output and "5 events" in output


def test_events_link_to_their_predecessor(five_events):
    assert [e.sequence for e in five_events] == [1, 2, 3, 4, 5]
    assert all(later.previous_hash == earlier.hash for earlier, later in zip(five_events, five_events[1:]))


def test_an_edited_event_is_found(five_events):
    _tamper("UPDATE privacy_auditevent SET object_id = '99' WHERE chain = %s AND sequence = 3",
            [five_events[0].chain])
    output, error = _verify_output()
    assert error is not None
    assert "at #3" in output and "edited" in output


def test_a_deleted_event_is_found(five_events):
    _tamper("DELETE FROM privacy_auditevent WHERE chain = %s AND sequence = 2", [five_events[0].chain])
    output, error = _verify_output()
    assert error is not None
    assert "#2 is missing" in output


def test_reordered_events_are_found(five_events):
    chain = five_events[0].chain
    # swap #2 and #3 (through #102, as (chain, sequence) is unique)
    _tamper("UPDATE privacy_auditevent SET sequence = 102 WHERE chain = %s AND sequence = 2", [chain])
    _tamper("UPDATE privacy_auditevent SET sequence = 2 WHERE chain = %s AND sequence = 3", [chain])
    _tamper("UPDATE privacy_auditevent SET sequence = 3 WHERE chain = %s AND sequence = 102", [chain])
    result = audit_chain_verify(chain=chain)
    assert not result.ok and result.broken_sequence == 2


def test_events_cut_off_the_end_are_found(five_events):
    _tamper("DELETE FROM privacy_auditevent WHERE sequence = 5 AND chain = %s", [five_events[0].chain])
    result = audit_chain_verify(chain=five_events[0].chain)
    assert not result.ok
    assert "head records #5" in result.reason


def test_each_hospital_has_its_own_chain(hospital_a, hospital_b):
    a = audit_record(action="x", hospital_id=hospital_a.pk)
    b = audit_record(action="x", hospital_id=hospital_b.pk)
    platform = audit_record(action="x", hospital_id=None)
    assert (a.chain, b.chain, platform.chain) == (
        f"hospital:{hospital_a.pk}/0", f"hospital:{hospital_b.pk}/0", "platform/0")
    assert a.sequence == b.sequence == platform.sequence == 1


def test_postgres_refuses_update_even_to_the_owner(postgres, five_events):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE privacy_auditevent SET action = 'x'")


def test_postgres_refuses_delete_even_to_the_owner(postgres, five_events):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM privacy_auditevent")


def test_application_role_holds_no_update_or_delete_right(postgres):
    from django.conf import settings

    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege(%s, 'privacy_auditevent', 'UPDATE'), "
                       "has_table_privilege(%s, 'privacy_auditevent', 'DELETE'), "
                       "has_table_privilege(%s, 'privacy_auditevent', 'INSERT')",
                       [settings.DATABASE_APP_ROLE] * 3)
        assert cursor.fetchone() == (False, False, True)


def test_a_hospital_reads_only_its_own_events(postgres, hospital_a, hospital_b):
    audit_record(action="x", hospital_id=hospital_a.pk)
    audit_record(action="x", hospital_id=hospital_b.pk)
    audit_record(action="x", hospital_id=None)
    with tenant_context(hospital_a.pk):
        assert set(AuditEvent.objects.values_list("hospital_id", flat=True)) == {hospital_a.pk}


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_a_chain(hospital_a):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; the row lock matters on PostgreSQL")
    errors = []

    def writer(worker):
        try:
            for n in range(10):
                with tenant_context(hospital_a.pk):
                    audit_record(action="concurrent", detail={"worker": worker, "n": n})
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = audit_chain_verify(chain=f"hospital:{hospital_a.pk}/0")
    assert (result.ok, result.events_checked) == (True, 40)


@pytest.mark.django_db(transaction=True)
def test_a_hospitals_events_spread_over_its_shards_and_each_verifies(hospital_a, settings):
    settings.AUDIT_CHAIN_SHARDS = 4
    # each event in its own transaction, as separate requests write them
    events = [audit_record(action="x", hospital_id=hospital_a.pk) for _ in range(40)]
    chains = {event.chain for event in events}
    assert len(chains) > 1 and all(chain.startswith(f"hospital:{hospital_a.pk}/") for chain in chains)
    assert all(audit_chain_verify(chain=chain).ok for chain in chains)
    output, error = _verify_output()
    assert error is None and output.count("OK      hospital:") == len(chains)


def test_one_transactions_events_of_a_hospital_share_one_chain(hospital_a, hospital_b, settings):
    # A transaction holds each chain head it appends to until it ends; one head per
    # hospital per transaction means two transactions cannot lock heads in opposite
    # orders (a deadlock on PostgreSQL under concurrent multi-event writes).
    settings.AUDIT_CHAIN_SHARDS = 8
    with transaction.atomic():
        chains_a = {audit_record(action="x", hospital_id=hospital_a.pk).chain for _ in range(10)}
        chains_b = {audit_record(action="x", hospital_id=hospital_b.pk).chain for _ in range(10)}
    assert len(chains_a) == 1 and len(chains_b) == 1


def test_verify_one_hospital_by_its_name(hospital_a, hospital_b, settings):
    settings.AUDIT_CHAIN_SHARDS = 2
    for _ in range(10):
        audit_record(action="x", hospital_id=hospital_a.pk)
        audit_record(action="x", hospital_id=hospital_b.pk)
    out = StringIO()
    call_command("audit_verify", chain=f"hospital:{hospital_a.pk}", stdout=out)
    assert f"hospital:{hospital_b.pk}" not in out.getvalue()
    assert f"hospital:{hospital_a.pk}/" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_chains_verified_in_parallel_still_find_an_edited_event(hospital_a, settings):
    settings.AUDIT_CHAIN_SHARDS = 4
    events = [audit_record(action="x", hospital_id=hospital_a.pk, detail={"n": n}) for n in range(40)]
    victim = events[17]
    _tamper("UPDATE privacy_auditevent SET detail = '{\"n\": 99}' WHERE chain = %s AND sequence = %s",
            [victim.chain, victim.sequence])
    out = StringIO()
    with pytest.raises(CommandError, match="1 of"):
        call_command("audit_verify", workers=2, stdout=out)
    assert f"BROKEN  {victim.chain}: at #{victim.sequence} (event id {victim.pk})" in out.getvalue()
    assert out.getvalue().count("OK      hospital:") == len({event.chain for event in events}) - 1


_AWKWARD_DETAILS = [
    {},
    {"q": "王\"小\\明\n\t\x01", "ratio": 0.1, "small": 1e-07, "neg": -2.5, "ok": True, "none": None,
     "list": [1, "二", {"b": 1, "a": 2}]},
    {"z": 1, "a": {"y": [], "b": {}}, "emoji": "😷", "\u2028": "line separator"},
]


@pytest.mark.parametrize("detail", _AWKWARD_DETAILS)
@pytest.mark.parametrize("nulls", [True, False])
def test_the_verifiers_content_encoding_gives_the_same_bytes_as_the_canonical_one(detail, nulls):
    from apps.privacy.chain import HASHED_FIELDS, encode_content, encode_stored_row

    content = {"chain": "hospital:1/0", "sequence": 7, "occurred_at": "2026-11-03T08:00:00.000001+00:00",
               "actor_id": None if nulls else 12, "actor_username": "张三 \"quoted\" \\ back", "role": "doctor",
               "hospital_id": None if nulls else 3, "action": "patient.read", "object_type": "patient",
               "object_id": "</script>\x7f", "patient_id": None if nulls else 9_000_000_000,
               "ip": None if nulls else "2001:db8::1", "user_agent": "Mozilla/5.0 (\u00e9\t)", "request_id": "",
               "outcome": "success", "detail": detail}
    assert encode_stored_row([content[name] for name in HASHED_FIELDS]) == encode_content(content)


@pytest.mark.parametrize("detail", _AWKWARD_DETAILS)
def test_awkward_content_verifies_as_stored(hospital_a, detail):
    from apps.core.request_context import RequestInfo, reset_request_info, set_request_info

    token = set_request_info(RequestInfo(request_id="r\"1", ip="2001:db8::1", user_agent="客户端 \"x\"\t\\"))
    try:
        events = [audit_record(action="patient.read", hospital_id=hospital_a.pk, object_type="patient",
                               object_id="名\n", patient_id=5, detail=detail) for _ in range(3)]
    finally:
        reset_request_info(token)
    result = audit_chain_verify(chain=events[0].chain)
    assert (result.ok, result.events_checked) == (True, 3), result
