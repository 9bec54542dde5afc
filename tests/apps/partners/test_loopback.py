"""A share travelling over HTTP for real, in one process: the platform shares with
itself behind pytest-django's live server (partner "peer" is this platform's inbound
endpoint, partner "origin" is how the inbound side knows the sender), through a
loopback proxy that can fail. Delivery runs eagerly here (retries follow at once);
tests/apps/partners/test_two_platforms.py does the same across two instances with a
real Celery worker and the backoff on PostgreSQL + Redis. The `proxy` and `loop`
fixtures are in conftest.py (test_updates.py uses them too)."""

import json

import pytest

from apps.compliance.deidentify import pseudonym
from apps.compliance.models import ConsentPurpose, ConsentRecord
from apps.partners.fhir import PSEUDONYM_SYSTEM
from apps.partners.models import ExternalRareCase, OutboundShare, ShareAttempt
from apps.partners.services import partner_set_status, rare_case_share_decide, share_approve
from apps.rarecases.models import RareCase
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.fakes.flaky_proxy import FailurePlan
from tests.support.partners import consent, hospital_settings, rare_case_make

pytestmark = pytest.mark.django_db(transaction=True)


def decide(case):
    with tenant_context(case.hospital_id):
        return rare_case_share_decide(case_id=case.pk)


def share_of(decision) -> OutboundShare:
    with tenant_context(decision.hospital_id):
        return OutboundShare.objects.select_related("partner").get(decision=decision)


def test_a_case_reaches_the_partner_de_identified_and_signed(hospital_a, loop, proxy):
    peer, origin = loop
    case = rare_case_make(hospital_a, findings=["患者王小丽，电话13800138000，脾大"])

    share = share_of(decide(case))

    assert share.status == "delivered" and share.attempts == 1
    received = ExternalRareCase.objects.get()
    assert received.partner == origin and str(received.share_id) == str(share.share_id)
    assert share.partner_record_id == str(received.pk)
    # what arrived is de-identified: no name, ID number, phone or exact birth date anywhere
    text = json.dumps(received.bundle, ensure_ascii=False)
    for identifying in ("王小丽", "110105198103140025", "13800138000", "1981-03-14", case.patient.medical_record_number):
        assert identifying not in text
    assert "[PHONE]" in text  # the finding's phone number was masked by the release
    types = sorted(e["resource"]["resourceType"] for e in received.bundle["entry"])
    assert types == ["Condition", "DiagnosticReport", "Observation", "Observation", "Patient", "Provenance"]
    assert received.bundle["meta"]["security"][0]["code"] == "PSEUDED"
    # signed: the request carried the headers of the protocol
    seen = proxy.seen[0]
    assert seen.headers["X-Partner-Id"] == "origin" and seen.headers["X-Signature"].startswith("v1=")
    assert seen.headers["Idempotency-Key"] == str(share.share_id)
    with tenant_context(hospital_a.pk):
        assert RareCase.objects.get(pk=case.pk).status == "shared"


def test_a_partner_that_is_down_gets_the_share_after_retries(hospital_a, loop, proxy):
    proxy.plan = FailurePlan(first=2, mode="drop")
    share = share_of(decide(rare_case_make(hospital_a)))
    assert share.status == "delivered" and share.attempts == 3
    with tenant_context(hospital_a.pk):
        outcomes = list(ShareAttempt.objects.filter(share=share).values_list("outcome", "status_code"))
    assert outcomes == [("retry", None), ("retry", None), ("delivered", 201)]
    assert ExternalRareCase.objects.count() == 1


def test_a_lost_acknowledgement_does_not_make_a_second_copy(hospital_a, loop, proxy):
    # Given a partner that stores the share but whose answer never arrives (a 503 from
    # its load balancer after the write): the proxy forwards, then we break the reply
    answers = proxy.lose_first_answer()
    share = share_of(decide(rare_case_make(hospital_a)))

    # then the retry found the stored record: delivered once, one copy at the partner
    assert answers == [201, 200]
    assert share.status == "delivered" and share.status_reason == "duplicate"
    assert ExternalRareCase.objects.count() == 1


def test_a_partner_down_for_too_long_fails_the_share(hospital_a, loop, proxy):
    proxy.plan = FailurePlan(first=100)
    share = share_of(decide(rare_case_make(hospital_a)))
    assert share.status == "failed" and share.status_reason == "attempts_exhausted" and share.attempts == 4
    assert not ExternalRareCase.objects.exists()


def test_a_wrong_key_fails_at_once_without_retrying(hospital_a, loop, proxy, sharing):
    # Given the partner holds another key for us
    from apps.partners.services import partner_rotate_key

    _peer, origin = loop
    partner_rotate_key(partner_id=origin.pk, actor=sharing, role=Role.PLATFORM_ADMIN)
    share = share_of(decide(rare_case_make(hospital_a)))
    assert share.status == "failed" and share.status_reason == "signature_invalid" and share.attempts == 1
    assert share.last_status_code == 401


def test_a_partner_that_revoked_us_refuses_and_the_share_fails(hospital_a, loop, sharing):
    _peer, origin = loop
    partner_set_status(partner_id=origin.pk, status="revoked", actor=sharing, role=Role.PLATFORM_ADMIN)
    share = share_of(decide(rare_case_make(hospital_a)))
    assert share.status == "failed" and share.status_reason == "partner_revoked"


def test_revoking_the_partner_cancels_shares_waiting_for_it(hospital_a, loop, sharing, officer_a):
    peer, _origin = loop
    hospital_settings(sharing, hospital_a, approval_required=True)
    share = share_of(decide(rare_case_make(hospital_a)))
    partner_set_status(partner_id=peer.pk, status="revoked", actor=sharing, role=Role.PLATFORM_ADMIN)
    with tenant_context(hospital_a.pk):
        share.refresh_from_db()
    assert share.status == "cancelled" and share.status_reason == "partner_revoked"


def test_consent_withdrawn_cancels_the_pending_share(hospital_a, loop, sharing, officer_a):
    from apps.core.exceptions import ConflictError

    hospital_settings(sharing, hospital_a, approval_required=True)
    case = rare_case_make(hospital_a)
    share = share_of(decide(case))
    assert share.status == "awaiting_approval"

    consent(hospital_a, case.patient, decision=ConsentRecord.Decision.WITHDRAWN)

    with tenant_context(hospital_a.pk):
        share.refresh_from_db()
        assert share.status == "cancelled" and share.status_reason == "consent_withdrawn"
        with pytest.raises(ConflictError):
            share_approve(share_pk=share.pk, actor=officer_a, role=Role.COMPLIANCE_OFFICER)
    assert not ExternalRareCase.objects.exists()


def test_an_approved_share_is_delivered(hospital_a, loop, sharing, officer_a):
    hospital_settings(sharing, hospital_a, approval_required=True)
    share = share_of(decide(rare_case_make(hospital_a)))
    with tenant_context(hospital_a.pk):
        share_approve(share_pk=share.pk, actor=officer_a, role=Role.COMPLIANCE_OFFICER)
    share = share_of(share.decision)
    assert share.status == "delivered"
    assert ExternalRareCase.objects.count() == 1


def test_a_delivered_share_counts_as_a_use_of_the_case(hospital_a, loop):
    from apps.rarecases.models import CaseAccess

    case = rare_case_make(hospital_a)

    share = share_of(decide(case))

    assert share.status == "delivered"
    uses = CaseAccess.objects.filter(entry__case_id=case.pk, kind="share")
    assert [use.channel for use in uses] == ["partner:peer"]


def test_the_registrys_lab_findings_travel_as_text(hospital_a, loop):
    findings = [{"code": "HGB", "name": "血红蛋白", "value": 82.0, "unit": "g/L", "flag": "L"}]
    case = rare_case_make(hospital_a, findings=findings)

    assert share_of(decide(case)).status == "delivered"
    text = json.dumps(ExternalRareCase.objects.get().bundle, ensure_ascii=False)
    assert "血红蛋白 (HGB) 82.0 g/L L" in text


def test_the_partner_receives_its_own_pseudonym_for_the_patient(hospital_a, loop, proxy):
    case = rare_case_make(hospital_a)

    assert share_of(decide(case)).status == "delivered"

    # what crossed the wire names the patient by the pseudonym derived for partner "peer"
    sent = json.loads(proxy.seen[0].body)
    [patient] = [e["resource"] for e in sent["entry"] if e["resource"]["resourceType"] == "Patient"]
    [identifier] = [i["value"] for i in patient["identifier"] if i["system"] == PSEUDONYM_SYSTEM]
    purpose, hospital_id = ConsentPurpose.PARTNER_SHARING, hospital_a.pk
    assert identifier == pseudonym(case.patient_id, purpose=purpose, hospital_id=hospital_id, recipient="partner:peer")
    assert identifier != pseudonym(case.patient_id, purpose=purpose, hospital_id=hospital_id)
    # and the receiving side stored it as the case's pseudonym
    assert ExternalRareCase.objects.get().pseudonym == identifier
