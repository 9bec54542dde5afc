"""Audit write overhead per API request.

    .venv/bin/python bench/audit_overhead.py [--requests 400]

`GET /api/v1/patients/<id>/` as a doctor with a bearer token, in-process through the
whole middleware stack on PostgreSQL, alternating requests with the audit mixin's
write switched on and off (the only difference). Prints p50/p95 of each and the
difference.

The chain verification rate over 10 million events is bench/audit_chain.py.
"""

import argparse
import time

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    setup_django("compliance")
    print("Audit write overhead per request (GET /api/v1/patients/<id>/, PostgreSQL, in-process):")
    request_overhead(args.requests)


if __name__ == "__main__":
    main()
