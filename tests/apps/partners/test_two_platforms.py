"""Two platforms on loopback, for real: this one (the test database, a Celery worker
in its own process consuming from Redis) shares rare cases with a second instance
(its own database and server process), through a proxy that can fail.

Covered here: the registry's signal -> decision -> release -> worker -> signed POST
-> the peer stores it; a partner down (retries with exponential backoff, then one
copy); a replay refused; a wrong key and a revoked partner refused and the share
failed without retries; approval required; consent withdrawn cancelling a pending
share; no consent and the k-anonymity block stopping a share before anything leaves;
an update of a delivered case (step 8) replacing the peer's copy, and an older
version re-signed and sent again refused.
"""

import datetime
import json
import time

import httpx
import pytest
from django.conf import settings
from django.db import connection, connections

from apps.compliance.models import ConsentRecord
from apps.partners.models import OutboundShare, ShareAttempt, ShareDecision
from apps.partners.services import share_approve
from apps.partners.signing import key_decode, key_generate, signed_headers
from apps.rarecases.models import RareCase
from apps.rarecases.signals import prediction_indexes_ready
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import is_postgres
from tests.fakes.flaky_proxy import FailurePlan, FlakyProxy
from tests.support.celery_worker import route_ml_tasks_to, unique_queue, wait_until, worker_process
from tests.support.partners import (consent, hospital_settings, lab_report_make, partner_make, platform_settings,
                                    population, rare_case_make, refresh)
from tests.support.peer_platform import peer_platform

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

KEYS = {"origin-good": key_generate(), "origin-badkey": key_generate(), "origin-revoked": key_generate()}


@pytest.fixture(scope="module")
def peer(django_db_setup, django_db_blocker, tmp_path_factory):
    if not settings.REDIS_URL or not is_postgres():
        pytest.skip("needs PostgreSQL and Redis (set DATABASE_URL and REDIS_URL); CI always runs them")
    with django_db_blocker.unblock():
        params = dict(connection.settings_dict)
    partners = [{"code": "origin-good", "key": KEYS["origin-good"]},
                {"code": "origin-badkey", "key": key_generate()},  # not the key the sender holds
                {"code": "origin-revoked", "key": KEYS["origin-revoked"], "status": "revoked"}]
    with peer_platform(database_params=params, name=f"{params['NAME']}_peer", redis_url=settings.REDIS_URL,
                       partners=partners, log_path=tmp_path_factory.mktemp("peer") / "server.log") as running:
        yield running


@pytest.fixture
def worker(peer, tmp_path):
    queue = unique_queue("partners-e2e")
    with route_ml_tasks_to(queue, pattern="partners.*"), \
            worker_process(queue, env={"CELERY_TASK_ALWAYS_EAGER": "0"}, log_path=tmp_path / "worker.log") as process:
        yield process
    connections.close_all()


@pytest.fixture
def proxy(peer):
    with FlakyProxy(peer.url) as running:
        yield running


def link(admin, proxy, our_id="origin-good"):
    """This platform's partner record for the peer, reached through the proxy."""
    partner, _key = partner_make(admin, code="peer", endpoint_url=proxy.url, our_id=our_id, key=KEYS[our_id])
    return partner


@pytest.fixture
def presets(sharing, hospital_a):
    platform_settings(sharing, retry_base_seconds=0.5, retry_max_seconds=5.0, max_attempts=5, timeout_seconds=30)
    population(hospital_a, count=10)
    return sharing


def indexes_ready(case) -> None:
    """What the registry does after writing both indexes (step 6)."""
    with tenant_context(case.hospital_id):
        prediction_indexes_ready.send(sender=RareCase, case=case)


def share_for(case, *, settled=True, timeout=180) -> OutboundShare:
    def done():
        with tenant_context(case.hospital_id):
            share = OutboundShare.objects.filter(case=case).select_related("partner").first()
        if share is not None and (not settled or share.status in ("delivered", "failed", "cancelled", "rejected")):
            return share
        return None

    return wait_until(done, timeout=timeout, interval=0.3)


def attempts_of(share) -> list[ShareAttempt]:
    with tenant_context(share.hospital_id):
        return list(ShareAttempt.objects.filter(share=share).order_by("number"))


def test_a_case_reaches_the_second_platform_after_the_partner_was_down(hospital_a, presets, peer, proxy, worker):
    # Given the peer is unreachable for the first two attempts (connection dropped, then 503)
    link(presets, proxy)
    proxy.plan = FailurePlan(first=2, mode="drop")
    case = rare_case_make(hospital_a, first=0.9, findings=["脾大，患者王小丽"])

    # when the registry announces the case's indexes
    indexes_ready(case)

    # then the worker retried with growing waits and delivered it once
    share = share_for(case)
    assert share.status == "delivered", (share.status, share.status_reason, share.last_error)
    attempts = attempts_of(share)
    assert [(a.outcome, a.status_code) for a in attempts] == [("retry", None), ("retry", None), ("delivered", 201)]
    gaps = [(later.started_at - earlier.started_at).total_seconds() for earlier, later in zip(attempts, attempts[1:])]
    assert gaps[0] >= 0.5 and gaps[1] >= 1.0, gaps  # 0.5 s, then 1 s: exponential backoff
    assert worker.poll() is None

    # and the peer holds exactly one copy, de-identified
    stored = peer.external_cases(str(share.share_id))
    assert len(stored) == 1 and stored[0]["icd10_code"] == "E75.2"
    text = json.dumps(stored[0]["bundle"], ensure_ascii=False)
    assert "王小丽" not in text and "110105198103140025" not in text and "1981-03-14" not in text
    with tenant_context(hospital_a.pk):
        decision = ShareDecision.objects.get(case=case)
        assert decision.trigger == "indexes_ready" and decision.decided_by == "first"
        assert RareCase.objects.get(pk=case.pk).status == "shared"

    # and a captured request replayed to the peer is refused, leaving one copy
    sent = next(seen for seen in proxy.seen if seen.forwarded)
    replay = httpx.post(peer.url + sent.path, content=sent.body,
                        headers={k: v for k, v in sent.headers.items() if k.lower() not in ("host", "content-length")})
    assert replay.status_code == 409 and replay.json()["error"]["code"] == "replay"
    assert len(peer.external_cases(str(share.share_id))) == 1


def test_a_bad_signature_fails_the_share_without_retrying(hospital_a, presets, peer, proxy, worker):
    link(presets, proxy, our_id="origin-badkey")
    case = rare_case_make(hospital_a)
    indexes_ready(case)
    share = share_for(case)
    assert (share.status, share.status_reason, share.attempts, share.last_status_code) == \
        ("failed", "signature_invalid", 1, 401)
    assert peer.external_cases(str(share.share_id)) == []


def test_a_partner_that_revoked_us_refuses_the_share(hospital_a, presets, peer, proxy, worker):
    link(presets, proxy, our_id="origin-revoked")
    case = rare_case_make(hospital_a)
    indexes_ready(case)
    share = share_for(case)
    assert (share.status, share.status_reason, share.attempts, share.last_status_code) == \
        ("failed", "partner_revoked", 1, 403)


def test_an_approved_share_is_delivered_and_a_withdrawn_consent_cancels_another(hospital_a, presets, peer, proxy,
                                                                                 worker, officer_a):
    # Given a hospital whose shares need a compliance officer's approval
    hospital_settings(presets, hospital_a, approval_required=True)
    link(presets, proxy)
    approved_case, withdrawn_case = rare_case_make(hospital_a), rare_case_make(hospital_a)
    indexes_ready(approved_case)
    indexes_ready(withdrawn_case)
    waiting = share_for(approved_case, settled=False)
    other = share_for(withdrawn_case, settled=False)
    assert waiting.status == other.status == "awaiting_approval"
    time.sleep(1)
    assert proxy.seen == []  # nothing left before the approval

    # when the officer approves one and the other patient withdraws consent
    with tenant_context(hospital_a.pk):
        share_approve(share_pk=waiting.pk, actor=officer_a, role=Role.COMPLIANCE_OFFICER, note="checked")
    consent(hospital_a, withdrawn_case.patient, decision=ConsentRecord.Decision.WITHDRAWN)

    # then the approved one reaches the peer and the other is cancelled, never sent
    assert share_for(approved_case).status == "delivered"
    assert len(peer.external_cases(str(waiting.share_id))) == 1
    cancelled = share_for(withdrawn_case)
    assert (cancelled.status, cancelled.status_reason) == ("cancelled", "consent_withdrawn")
    assert peer.external_cases(str(cancelled.share_id)) == []
    assert all(json.loads(seen.body)["identifier"]["value"] == str(waiting.share_id) for seen in proxy.seen)


def test_no_consent_or_a_too_small_population_stops_the_share_before_anything_leaves(hospital_a, hospital_b, sharing,
                                                                                     peer, proxy, worker):
    link(sharing, proxy)
    unconsented = rare_case_make(hospital_a, consented=False)
    lonely = rare_case_make(hospital_b, sex="M", birth_date=datetime.date(1950, 1, 1))
    indexes_ready(unconsented)
    indexes_ready(lonely)
    with tenant_context(hospital_a.pk):
        assert ShareDecision.objects.get(case=unconsented).outcome == "no_consent"
    with tenant_context(hospital_b.pk):
        assert ShareDecision.objects.get(case=lonely).outcome == "k_anonymity_blocked"
        assert not OutboundShare.objects.exists()
    with tenant_context(hospital_a.pk):
        assert not OutboundShare.objects.exists()
    assert proxy.seen == []


def test_an_update_of_a_delivered_case_replaces_the_peers_copy(hospital_a, presets, peer, proxy, worker,
                                                                 small_knowledge_graph):
    link(presets, proxy)
    case = rare_case_make(hospital_a, first=0.9)
    refresh(case)
    indexes_ready(case)
    first = share_for(case)
    assert first.status == "delivered", (first.status, first.status_reason, first.last_error)

    # when the patient has a new lab report and step 8 refreshes the case
    lab_report_make(hospital_a, case.patient)
    refresh(case)

    # then the worker delivers version 2 under the same share id, and the peer replaced its copy
    def update_settled():
        with tenant_context(hospital_a.pk):
            return OutboundShare.objects.filter(origin=first, status__in=("delivered", "failed")).first()

    update = wait_until(update_settled, timeout=180, interval=0.3)
    assert (update.version, update.status) == (2, "delivered"), (update.status_reason, update.last_error)
    [stored] = peer.external_cases(str(first.share_id))
    assert stored["bundle"]["meta"]["versionId"] == "2"
    assert sum(1 for e in stored["bundle"]["entry"] if e["resource"]["resourceType"] == "Observation") == 4

    # and version 1, signed afresh and sent again, does not overwrite it
    old_body = first.payload.encode()
    headers = signed_headers(key=key_decode(KEYS["origin-good"]), partner_id="origin-good",
                             idempotency_key=str(first.share_id), body=old_body, timestamp=int(time.time()))
    late = httpx.post(peer.url + "/api/v1/partners/inbound/", content=old_body, headers=headers)
    assert late.status_code == 409 and late.json()["error"]["code"] == "version_outdated"
    [stored] = peer.external_cases(str(first.share_id))
    assert stored["bundle"]["meta"]["versionId"] == "2"
