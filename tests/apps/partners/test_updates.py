"""Updates of a delivered case, end to end in one process: the registry's step 8
refresh (`case_keep_alive`) -> `case_refreshed` -> rare_case_share_update -> the next
version released and delivered by the same task over HTTP to this platform's own
inbound endpoint behind the loopback proxy (fixtures `loop` and `proxy` in
conftest.py), which replaces the case it holds."""

import json

import pytest

from apps.compliance.models import ConsentRecord
from apps.partners.fhir import PSEUDONYM_SYSTEM
from apps.partners.models import ExternalRareCase, OutboundShare, ShareDecision
from apps.partners.services import rare_case_share_decide, rare_case_share_update, share_approve, share_reject
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.fakes.flaky_proxy import FailurePlan
from tests.support.partners import consent, hospital_settings, lab_report_make, rare_case_make, refresh

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _graph(small_knowledge_graph):
    return small_knowledge_graph


def shared_case(hospital):
    """A case refreshed once (its retrieval feature as step 8 builds it), then decided
    and delivered: version 1 at the partner."""
    case = rare_case_make(hospital)
    refresh(case)
    with tenant_context(hospital.pk):
        decision = rare_case_share_decide(case_id=case.pk)
    # (delivered after the decision's commit)
    [first] = shares_of(case)
    assert first.status == "delivered" and first.version == 1
    return case, first


def shares_of(case) -> list[OutboundShare]:
    with tenant_context(case.hospital_id):
        return list(OutboundShare.objects.filter(case=case).select_related("origin").order_by("version", "pk"))


def sent_bundles(proxy) -> list[dict]:
    return [json.loads(seen.body) for seen in proxy.seen if seen.forwarded]


def patient_identifier(bundle: dict) -> str:
    [patient] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    return next(i["value"] for i in patient["identifier"] if i["system"] == PSEUDONYM_SYSTEM)


def test_a_changed_case_reaches_the_partner_as_the_next_version(hospital_a, loop, proxy):
    case, first = shared_case(hospital_a)
    held = ExternalRareCase.objects.get()
    assert held.version == 1 and held.observations == 2

    # Given a new lab report of the patient (new findings, two more lab results)
    lab_report_make(hospital_a, case.patient)
    refresh(case)

    first_version, update = shares_of(case)
    assert update.version == 2 and update.origin == first_version and update.status == "delivered"
    assert update.partner_record_id == first.partner_record_id == str(held.pk)
    # what crossed the wire: the same share id the partner knows the case by, version 2
    v1, v2 = sent_bundles(proxy)
    assert proxy.seen[-1].headers["Idempotency-Key"] == str(first.share_id)
    assert v2["identifier"]["value"] == v1["identifier"]["value"] == str(first.share_id)
    assert (v1["meta"]["versionId"], v2["meta"]["versionId"]) == ("1", "2")
    # the same pseudonym for the patient at this partner
    assert patient_identifier(v1) == patient_identifier(v2)
    # the partner replaced its copy: still one case, now version 2 with four lab results
    [stored] = ExternalRareCase.objects.all()
    assert stored.pk == held.pk and stored.version == 2 and stored.observations == 4
    assert stored.bundle["meta"]["versionId"] == "2" and stored.updated_at is not None
    # through the guarded path: an egress event for each version, naming the partner
    releases = AuditEvent.objects.filter(action="partners.share.release").order_by("pk")
    assert [event.detail.get("recipient") for event in releases] == ["partner:peer", "partner:peer"]
    with tenant_context(hospital_a.pk):
        decision = ShareDecision.objects.get(pk=update.decision_id)
    assert (decision.trigger, decision.decided_by, decision.outcome) == ("case_updated", "update", "queued")
    assert AuditEvent.objects.filter(action="partners.inbound_updated", detail__version=2).count() == 1


def test_an_unchanged_case_sends_nothing(hospital_a, loop, proxy):
    case, _first = shared_case(hospital_a)
    decisions_before = ShareDecision.unscoped_objects.count()

    refresh(case)
    refresh(case)

    assert len(proxy.seen) == 1
    assert [share.version for share in shares_of(case)] == [1]
    assert ShareDecision.unscoped_objects.count() == decisions_before
    assert ExternalRareCase.objects.get().version == 1


def test_the_same_update_is_sent_once(hospital_a, loop, proxy):
    case, _first = shared_case(hospital_a)
    lab_report_make(hospital_a, case.patient)
    refresh(case)
    refresh(case)  # the case has not changed since version 2
    with tenant_context(hospital_a.pk):
        assert rare_case_share_update(case_id=case.pk) is None

    assert [share.version for share in shares_of(case)] == [1, 2]
    assert len(proxy.seen) == 2


def test_withdrawn_consent_stops_the_update(hospital_a, loop, proxy):
    case, _first = shared_case(hospital_a)
    consent(hospital_a, case.patient, decision=ConsentRecord.Decision.WITHDRAWN)
    releases_before = AuditEvent.objects.filter(action="partners.share.release").count()

    lab_report_make(hospital_a, case.patient)
    refresh(case)

    assert [share.version for share in shares_of(case)] == [1]
    assert len(proxy.seen) == 1 and ExternalRareCase.objects.get().version == 1
    assert AuditEvent.objects.filter(action="partners.share.release").count() == releases_before
    with tenant_context(hospital_a.pk):
        decision = ShareDecision.objects.filter(trigger="case_updated").get()
    assert decision.outcome == "no_consent" and decision.inputs["consent"] is False


def test_withdrawing_consent_cancels_an_update_waiting_for_approval(hospital_a, loop, proxy, sharing, officer_a):
    case, _first = shared_case(hospital_a)
    hospital_settings(sharing, hospital_a, approval_required=True)
    lab_report_make(hospital_a, case.patient)
    refresh(case)
    _v1, update = shares_of(case)
    assert update.status == "awaiting_approval" and not update.payload

    consent(hospital_a, case.patient, decision=ConsentRecord.Decision.WITHDRAWN)

    _v1, update = shares_of(case)
    assert update.status == "cancelled" and update.status_reason == "consent_withdrawn"
    assert len(proxy.seen) == 1 and ExternalRareCase.objects.get().version == 1


def test_updates_wait_for_approval_when_the_hospital_asks_for_it(hospital_a, loop, proxy, sharing, officer_a):
    case, first = shared_case(hospital_a)
    hospital_settings(sharing, hospital_a, approval_required=True)
    lab_report_make(hospital_a, case.patient)
    refresh(case)

    _v1, update = shares_of(case)
    assert update.status == "awaiting_approval" and update.approval_required and len(proxy.seen) == 1
    with tenant_context(hospital_a.pk):
        share_approve(share_pk=update.pk, actor=officer_a, role=Role.COMPLIANCE_OFFICER)

    _v1, update = shares_of(case)
    assert update.status == "delivered" and ExternalRareCase.objects.get().version == 2
    assert proxy.seen[-1].headers["Idempotency-Key"] == str(first.share_id)


def test_a_rejected_update_is_not_asked_again_until_the_case_changes(hospital_a, loop, proxy, sharing, officer_a):
    case, _first = shared_case(hospital_a)
    hospital_settings(sharing, hospital_a, approval_required=True)
    lab_report_make(hospital_a, case.patient)
    refresh(case)
    _v1, update = shares_of(case)
    with tenant_context(hospital_a.pk):
        share_reject(share_pk=update.pk, actor=officer_a, role=Role.COMPLIANCE_OFFICER, note="not needed")

    refresh(case)
    assert [share.status for share in shares_of(case)] == ["delivered", "rejected"]

    lab_report_make(hospital_a, case.patient)
    refresh(case)
    assert [(share.version, share.status) for share in shares_of(case)] == \
        [(1, "delivered"), (2, "rejected"), (3, "awaiting_approval")]


def test_a_newer_change_replaces_an_update_not_sent_yet(hospital_a, loop, proxy, sharing):
    case, _first = shared_case(hospital_a)
    hospital_settings(sharing, hospital_a, approval_required=True)
    lab_report_make(hospital_a, case.patient)
    refresh(case)
    lab_report_make(hospital_a, case.patient)
    refresh(case)

    states = [(share.version, share.status, share.status_reason) for share in shares_of(case)]
    assert states == [(1, "delivered", "delivered"), (2, "cancelled", "superseded"), (3, "awaiting_approval", "")]


def test_an_update_is_retried_and_a_lost_acknowledgement_stores_it_once(hospital_a, loop, proxy):
    case, _first = shared_case(hospital_a)
    # Given the partner stores version 2 but its answer is lost once, after one dropped request
    proxy.plan = FailurePlan(first=len(proxy.seen) + 1, mode="drop")
    answers = proxy.lose_first_answer()
    lab_report_make(hospital_a, case.patient)
    refresh(case)

    _v1, update = shares_of(case)
    assert update.status == "delivered" and update.attempts == 3 and update.status_reason == "duplicate"
    assert answers == [200, 200]  # updated, then the same version again: already held
    [stored] = ExternalRareCase.objects.all()
    assert stored.version == 2
    assert AuditEvent.objects.filter(action="partners.inbound_updated").count() == 1
    assert AuditEvent.objects.filter(action="partners.inbound_repeated").count() == 1


def test_a_revoked_partner_gets_no_update(hospital_a, loop, proxy, sharing):
    from apps.partners.services import partner_set_status

    case, _first = shared_case(hospital_a)
    peer, _origin = loop
    partner_set_status(partner_id=peer.pk, status="revoked", actor=sharing, role=Role.PLATFORM_ADMIN)
    lab_report_make(hospital_a, case.patient)
    refresh(case)
    assert [share.version for share in shares_of(case)] == [1] and len(proxy.seen) == 1
