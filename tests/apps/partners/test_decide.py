"""Step 7: the decision to share, its record, and what stops a share (range, no
matching partner, consent, k-anonymity, approval, already shared).

Delivery is not what these tests look at: the partner's endpoint is a closed port,
and the (eager) delivery task records failed attempts."""

import pytest
from django.utils import timezone

from apps.compliance.deidentify import age_band
from apps.configuration.services import setting_set

from apps.partners.models import OutboundShare, ShareDecision
from apps.partners.selectors import age_on, partners_matching_case
from apps.partners.services import rare_case_share_decide, share_approve, share_reject
from apps.privacy.models import AuditEvent
from apps.rarecases.models import RareCase
from apps.rarecases.signals import prediction_indexes_ready
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.support.partners import (BIRTH_DATE, hospital_settings, partner_make, platform_settings, population,
                                    rare_case_make)

pytestmark = pytest.mark.django_db
BAND = age_band(age_on(BIRTH_DATE, timezone.localdate()), "pseudonymise")  # 45-49 in December 2026


def decide(case, **kwargs) -> ShareDecision:
    with tenant_context(case.hospital_id):
        return rare_case_share_decide(case_id=case.pk, **kwargs)


@pytest.fixture
def crowd(hospital_a):
    population(hospital_a, count=10)  # ten more women born the same day: k is met


def test_the_first_index_in_range_shares_with_the_matching_partner(hospital_a, peer, crowd, sharing):
    # Given a case whose first index (0.8) is inside [0.5, 1.0] and a partner focused on E70-E90
    platform_settings(sharing, max_attempts=1)
    case = rare_case_make(hospital_a, first=0.8, second=0.1)

    # when the decision runs
    decision = decide(case)

    # then the first index decided, the partner matched, and one share was released
    assert decision.decided_by == "first" and decision.outcome == "queued"
    assert [m["code"] for m in decision.matched_partners] == ["peer"]
    assert decision.matched_partners[0]["why"] == ["range:E70-E90"]
    assert decision.inputs["consent"] is True and decision.inputs["k_anonymity"]["passed"] is True
    assert decision.inputs["k_anonymity"]["population"] == 11
    with tenant_context(hospital_a.pk):
        share = OutboundShare.objects.get(decision=decision)
    assert share.partner == peer and share.payload and share.payload_sha256
    # and the release went through the guarded path (egress audit, de-identified, with consent)
    release = AuditEvent.objects.filter(action="partners.share.release").get()
    assert release.detail["purpose"] == "partner_sharing" and release.detail["deidentified"] is True
    assert release.detail["patient_ids"] == [case.patient_id]


def test_the_second_index_decides_when_the_first_is_out_of_range(hospital_a, peer, crowd):
    case = rare_case_make(hospital_a, first=0.2, second=0.7)
    decision = decide(case)
    assert decision.decided_by == "second" and decision.outcome == "queued"


def test_neither_index_in_range_shares_nothing_and_says_so(hospital_a, peer, crowd):
    case = rare_case_make(hospital_a, first=0.2, second=1.7)
    decision = decide(case)
    assert decision.decided_by == "none" and decision.outcome == "not_in_range"
    assert decision.reasons == [{"code": "not_in_range"}]
    assert (decision.first_index, decision.second_index, decision.range_low, decision.range_high) == (0.2, 1.7, 0.5,
                                                                                                    1.0)
    with tenant_context(hospital_a.pk):
        assert not OutboundShare.objects.exists()


def test_an_empty_range_is_reported_as_a_misconfiguration(hospital_a, peer, sharing):
    platform_settings(sharing, share_index_low=0.9, share_index_high=0.4)
    decision = decide(rare_case_make(hospital_a, first=0.95))
    assert decision.outcome == "not_in_range" and decision.reasons == [{"code": "range_invalid"}]


def test_no_active_interconnected_matching_partner_means_no_share(hospital_a, sharing, crowd):
    partner_make(sharing, code="neuro", focus=["G71"])                            # focus does not match
    partner_make(sharing, code="offline", focus=["E75"], interconnected=False)    # not interconnected
    suspended, _k = partner_make(sharing, code="paused", focus=["*"])
    from apps.partners.services import partner_set_status
    partner_set_status(partner_id=suspended.pk, status="suspended", actor=sharing, role=Role.PLATFORM_ADMIN)
    case = rare_case_make(hospital_a)
    assert partners_matching_case(case=case) == []
    decision = decide(case)
    assert decision.outcome == "no_matching_partner" and decision.matched_partners == []


def test_without_consent_nothing_is_released(hospital_a, peer, crowd):
    case = rare_case_make(hospital_a, consented=False)
    decision = decide(case)
    assert decision.outcome == "no_consent" and decision.inputs["consent"] is False
    assert not AuditEvent.objects.filter(action="partners.share.release").exists()


def test_a_share_that_would_single_the_patient_out_is_blocked(hospital_a, peer):
    # Given only two women of that age band on the whole platform (k = 5)
    population(hospital_a, count=1)
    case = rare_case_make(hospital_a)

    decision = decide(case)

    assert decision.outcome == "k_anonymity_blocked"
    assert decision.reasons == [{"code": "k_anonymity_blocked", "population": 2, "k": 5}]
    assert decision.inputs["k_anonymity"]["age_band"] == BAND
    with tenant_context(hospital_a.pk):
        assert not OutboundShare.objects.exists()


def test_the_population_spans_every_hospital_and_the_region(hospital_a, hospital_b, peer, sharing):
    # Given the hospital's region and four look-alikes at another hospital of the same city
    region_set(sharing, hospital_a, "110105")
    region_set(sharing, hospital_b, "110108")
    population(hospital_b, count=4)
    case = rare_case_make(hospital_a)

    decision = decide(case)

    # then the five people of Beijing city (1101) in the band let the share through
    assert decision.inputs["k_anonymity"] == {"k_required": 5, "population": 5, "sex": "F", "age_band": BAND,
                                              "region": "1101", "passed": True}
    assert decision.outcome == "queued"
    # and with the other hospital in another city they would not
    region_set(sharing, hospital_b, "310101")
    assert decide(case).outcome in ("k_anonymity_blocked", "already_shared")


def test_with_approval_required_the_share_waits_and_nothing_leaves(hospital_a, peer, crowd, sharing):
    hospital_settings(sharing, hospital_a, approval_required=True)
    case = rare_case_make(hospital_a)
    decision = decide(case)
    assert decision.outcome == "awaiting_approval"
    with tenant_context(hospital_a.pk):
        share = OutboundShare.objects.get()
    assert share.status == "awaiting_approval" and share.payload == ""
    assert not AuditEvent.objects.filter(action="partners.share.release").exists()


def test_an_officer_approves_and_the_case_is_released(hospital_a, peer, crowd, sharing, officer_a):
    hospital_settings(sharing, hospital_a, approval_required=True)
    platform_settings(sharing, max_attempts=1)
    decision = decide(rare_case_make(hospital_a))
    with tenant_context(hospital_a.pk):
        share = decision.shares.get()
        approved = share_approve(share_pk=share.pk, actor=officer_a, role=Role.COMPLIANCE_OFFICER, note="ok")
    assert approved.reviewed_by == officer_a and approved.payload
    assert AuditEvent.objects.filter(action="partners.share_approved", object_id=str(share.pk)).exists()
    assert AuditEvent.objects.filter(action="partners.share.release").exists()


def test_only_officers_approve_and_a_rejection_needs_a_reason(hospital_a, peer, crowd, sharing, officer_a,
                                                              hospital_admin_a):
    from apps.core.exceptions import ConflictError, DomainError, PermissionDeniedError

    hospital_settings(sharing, hospital_a, approval_required=True)
    decision = decide(rare_case_make(hospital_a))
    with tenant_context(hospital_a.pk):
        share = decision.shares.get()
        with pytest.raises(PermissionDeniedError):
            share_approve(share_pk=share.pk, actor=hospital_admin_a, role=Role.HOSPITAL_ADMIN)
        with pytest.raises(DomainError):
            share_reject(share_pk=share.pk, actor=officer_a, role=Role.COMPLIANCE_OFFICER, note=" ")
        rejected = share_reject(share_pk=share.pk, actor=officer_a, role=Role.COMPLIANCE_OFFICER, note="too rare")
        assert rejected.status == "rejected"
        with pytest.raises(ConflictError):
            share_approve(share_pk=share.pk, actor=officer_a, role=Role.COMPLIANCE_OFFICER)


def test_a_case_is_not_shared_twice_with_the_same_partner(hospital_a, peer, crowd, sharing):
    hospital_settings(sharing, hospital_a, approval_required=True)
    case = rare_case_make(hospital_a)
    first = decide(case)
    second = decide(case, trigger="manual", actor=sharing, role=Role.PLATFORM_ADMIN)
    assert first.outcome == "awaiting_approval"
    assert second.outcome == "already_shared" and second.reasons == [{"code": "already_shared", "partner": "peer"}]
    with tenant_context(hospital_a.pk):
        assert OutboundShare.objects.count() == 1


def test_the_registry_signal_triggers_the_decision(hospital_a, peer, crowd, django_capture_on_commit_callbacks):
    case = rare_case_make(hospital_a, first=0.9)
    with django_capture_on_commit_callbacks(execute=True):
        prediction_indexes_ready.send(sender=RareCase, case=case)
    with tenant_context(hospital_a.pk):
        decision = ShareDecision.objects.get(case=case)
    assert decision.trigger == "indexes_ready" and decision.outcome == "queued"


def test_decisions_cannot_be_read_from_another_hospital(hospital_a, hospital_b, peer, crowd):
    decision = decide(rare_case_make(hospital_a))
    with tenant_context(hospital_b.pk):
        assert not ShareDecision.objects.filter(pk=decision.pk).exists()


def region_set(admin, hospital, code):
    setting_set(key="hospital.region_code", value=code, actor=admin, role=Role.PLATFORM_ADMIN, hospital_id=hospital.pk)
