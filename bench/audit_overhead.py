"""Audit write overhead per API request, and the chain verification rate.

    .venv/bin/python bench/audit_overhead.py [--requests 400] [--events 1000000]

1. Overhead: `GET /api/v1/patients/<id>/` as a doctor with a bearer token, in-process
   through the whole middleware stack on PostgreSQL, alternating requests with the
   audit mixin's write switched on and off (the only difference). Prints p50/p95 of
   each and the difference.
2. Verification: builds one hash chain of --events events with PostgreSQL COPY
   (hashes computed exactly as audit_record does), then times `audit_chain_verify`
   over it. The issue's figure is 10 million events; verification is one linear scan
   per chain, so the 10-million time is extrapolated from the measured rate (and
   said so). Chains are independent: a hospital's 8 shards verify in parallel.
"""

import argparse
import io
import time
import uuid

from _django import percentile, setup_django


def request_overhead(requests: int):
    from django.test import Client

    from apps.accounts.models import ApiToken
    from apps.accounts.services import token_issue
    from apps.patients.services import patient_create
    from apps.privacy.audit import AuditedViewMixin
    from apps.tenancy.models import Hospital, Membership
    from apps.tenancy.roles import Role
    from django.contrib.auth import get_user_model

    hospital, _ = Hospital.objects.get_or_create(slug="bench-audit", defaults={"name": "Bench audit"})
    doctor, _ = get_user_model().objects.get_or_create(username="bench-audit-doctor")
    Membership.objects.get_or_create(user=doctor, hospital=hospital, defaults={"role": Role.DOCTOR})
    patient = patient_create(hospital_id=hospital.pk, name="基准", national_id="11010519491231002X")
    raw, _token = token_issue(user=doctor, kind=ApiToken.Kind.PASSWORD)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = f"/api/v1/patients/{patient.pk}/"
    original = AuditedViewMixin._write_audit_event
    timings = {"with audit": [], "without audit": []}
    for _warm in range(20):
        client.get(url)
    for n in range(requests * 2):
        audited = n % 2 == 0
        AuditedViewMixin._write_audit_event = original if audited else (lambda self, request, response: None)
        start = time.perf_counter()
        response = client.get(url)
        timings["with audit" if audited else "without audit"].append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    AuditedViewMixin._write_audit_event = original
    for label, values in timings.items():
        print(f"  {label:14} p50 {percentile(values, 0.5):6.2f} ms   p95 {percentile(values, 0.95):6.2f} ms   "
              f"({len(values)} requests)")
    with_, without = timings["with audit"], timings["without audit"]
    print(f"  overhead       p50 {percentile(with_, 0.5) - percentile(without, 0.5):6.2f} ms   "
          f"p95 {percentile(with_, 0.95) - percentile(without, 0.95):6.2f} ms")


def build_chain(events: int) -> str:
    """COPY `events` linked events into a fresh chain; returns its name."""
    import datetime
    from types import SimpleNamespace

    from django.db import connection

    from apps.privacy.chain import GENESIS_HASH, event_hash
    from apps.privacy.models import AuditChainHead

    chain = f"bench:{uuid.uuid4().hex[:8]}/0"
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    previous, clock, batch = GENESIS_HASH, time.perf_counter(), 200_000
    columns = ("id", "chain", "sequence", "occurred_at", "actor_id", "actor_username", "role", "hospital_id", "action",
               "object_type", "object_id", "patient_id", "ip", "user_agent", "request_id", "outcome", "detail",
               "previous_hash", "hash")
    with connection.cursor() as cursor:
        for offset in range(0, events, batch):
            buffer = io.StringIO()
            for sequence in range(offset + 1, min(events, offset + batch) + 1):
                event = SimpleNamespace(
                    chain=chain, sequence=sequence, occurred_at=start + datetime.timedelta(milliseconds=sequence),
                    actor_id=1 + sequence % 2000, actor_username=f"doctor{sequence % 2000}", role="doctor",
                    hospital_id=None, action="patient.read", object_type="patient", object_id=str(sequence % 200_000),
                    patient_id=sequence % 200_000, ip="10.1.0.1", user_agent="bench", request_id=uuid.uuid4().hex,
                    outcome="success", detail={})
                digest = event_hash(event, previous)
                buffer.write("\t".join([
                    str(uuid.uuid4()), chain, str(sequence), event.occurred_at.isoformat(), str(event.actor_id),
                    event.actor_username, event.role, r"\N", event.action, event.object_type, event.object_id,
                    str(event.patient_id), event.ip, event.user_agent, event.request_id, event.outcome, "{}",
                    previous, digest]) + "\n")
                previous = digest
            buffer.seek(0)
            cursor.copy_from(buffer, "privacy_auditevent", columns=columns)
    AuditChainHead.objects.create(chain=chain, sequence=events, hash=previous)
    seconds = time.perf_counter() - clock
    print(f"  built {events:,} chained events with COPY in {seconds:.1f} s ({events / seconds:,.0f} events/s)")
    return chain


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    setup_django("compliance")
    print("Audit write overhead per request (GET /api/v1/patients/<id>/, PostgreSQL, in-process):")
    request_overhead(args.requests)
    print("Chain verification:")
    chain = build_chain(args.events)
    from apps.privacy.selectors import audit_chain_verify

    clock = time.perf_counter()
    result = audit_chain_verify(chain=chain)
    seconds = time.perf_counter() - clock
    assert result.ok, result
    rate = result.events_checked / seconds
    print(f"  verified {result.events_checked:,} events in {seconds:.1f} s: {rate:,.0f} events/s on one core")
    print(f"  10,000,000 events extrapolated: {10_000_000 / rate / 60:.1f} min on one core, "
          f"{10_000_000 / rate / 60 / 2:.1f} min with 2 chains verified in parallel (not measured at 10 M)")


if __name__ == "__main__":
    main()
