"""The one HTTP call to a partner: sign afresh, POST, read the acknowledgement.

Any answer is a result (the caller decides retry or failure from it); no answer at
all (refused, reset, timed out) is a result with no status code."""

import time

import httpx
from django.utils import timezone

from . import signing
from .services import DeliveryPlan, DeliveryResult


def share_post(plan: DeliveryPlan, *, client: httpx.Client | None = None) -> DeliveryResult:
    headers = signing.signed_headers(key=plan.key, partner_id=plan.partner_id, idempotency_key=plan.share_id,
                                     body=plan.body, timestamp=int(time.time()))
    started_at, started = timezone.now(), time.perf_counter()
    try:
        if client is not None:
            response = client.post(plan.url, content=plan.body, headers=headers, timeout=plan.timeout)
        else:
            response = httpx.post(plan.url, content=plan.body, headers=headers, timeout=plan.timeout)
    except httpx.HTTPError as error:
        return DeliveryResult(started_at=started_at, duration_ms=(time.perf_counter() - started) * 1000,
                              status_code=None, error_code=f"transport:{type(error).__name__}")
    duration_ms = (time.perf_counter() - started) * 1000
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    answer = answer if isinstance(answer, dict) else {}
    error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
    return DeliveryResult(started_at=started_at, duration_ms=duration_ms, status_code=response.status_code,
                          error_code=str(error.get("code") or "")[:64], record_id=str(answer.get("id") or "")[:64],
                          duplicate=answer.get("status") == "duplicate")
