"""The web admin's partner pages: partner list and page, registration (key shown
once), share log and a share's page with approval, decisions, external cases."""

import uuid

import pytest
from django.urls import reverse

from apps.partners.models import ExternalRareCase, SharingPartner
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.factories import member_of
from tests.support.partners import platform_settings

pytestmark = pytest.mark.django_db


def logged_in(client, user):
    client.force_login(user)
    return client


def test_the_partner_list_shows_status_tag_and_shares(client, admin, awaiting_share):
    response = logged_in(client, admin).get(reverse("partners_web:list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Peer platform" in page and "focus=E70-E90" in page and "awaiting_approval: 1" in page
    assert 'data-testid="own-feature-tag"' in page


def test_a_platform_admin_registers_a_partner_and_the_key_is_shown_once(client, admin):
    client = logged_in(client, admin)
    response = client.post(reverse("partners_web:create"), {
        "name": "协作平台", "code": "collab", "endpoint_url": "https://collab.example.org/",
        "our_id_at_partner": "us-1", "research_focus": "Q87, E75", "data_categories": ["condition"],
        "protocols": "hp-share/1"}, follow=True)
    assert response.status_code == 200
    partner = SharingPartner.objects.get(code="collab")
    assert "not shown again" in response.content.decode() or "不会再次显示" in response.content.decode()
    again = client.get(reverse("partners_web:partner", args=[partner.pk])).content.decode()
    assert partner.hmac_key not in again and partner.key_fingerprint in again


def test_registration_errors_come_back_on_the_form(client, admin):
    response = logged_in(client, admin).post(reverse("partners_web:create"), {
        "name": "x", "code": "x", "endpoint_url": "https://x.example.org/", "our_id_at_partner": "us",
        "research_focus": "E75", "data_categories": ["observation"], "protocols": "hp-share/1"})
    assert response.status_code == 400 and not SharingPartner.objects.filter(code="x").exists()


@pytest.mark.parametrize("role", [Role.HOSPITAL_ADMIN, Role.COMPLIANCE_OFFICER])
def test_only_platform_admins_register_or_change_partners(client, hospital_a, peer, role):
    client = logged_in(client, member_of(hospital_a, role))
    assert client.get(reverse("partners_web:list")).status_code == 200
    assert client.get(reverse("partners_web:create")).status_code == 403
    assert client.post(reverse("partners_web:status", args=[peer.pk]), {"status": "revoked"}).status_code == 403
    peer.refresh_from_db()
    assert peer.status == "active"


def test_a_platform_admin_suspends_a_partner_from_its_page(client, admin, peer):
    response = logged_in(client, admin).post(reverse("partners_web:status", args=[peer.pk]),
                                             {"status": "suspended", "note": "maintenance"})
    assert response.status_code == 302
    peer.refresh_from_db()
    assert peer.status == "suspended"


def test_the_share_log_and_the_share_page_for_an_officer(client, officer_a, awaiting_share):
    client = logged_in(client, officer_a)
    log = client.get(reverse("partners_web:shares"))
    assert log.status_code == 200 and f'data-share="{awaiting_share.pk}"' in log.content.decode()
    page = client.get(reverse("partners_web:share", args=[awaiting_share.pk])).content.decode()
    assert 'data-testid="approve"' in page
    assert AuditEvent.objects.filter(action="outbound_share.read", object_id=str(awaiting_share.pk)).exists()


def test_an_officer_approves_on_the_share_page(client, officer_a, awaiting_share, sharing):
    platform_settings(sharing, max_attempts=1)
    response = logged_in(client, officer_a).post(reverse("partners_web:share-approve", args=[awaiting_share.pk]),
                                                 {"note": "checked"}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="payload"' in page and "PSEUDED" in page


def test_an_update_shows_its_version_and_the_share_it_updates(client, officer_a, awaiting_update):
    client = logged_in(client, officer_a)
    page = client.get(reverse("partners_web:share", args=[awaiting_update.pk])).content.decode()
    assert 'data-testid="share-version">2' in page
    assert reverse("partners_web:share", args=[awaiting_update.origin_id]) in page
    assert str(awaiting_update.origin.share_id) in page  # the Idempotency-Key the partner sees
    assert 'data-testid="approve"' in page
    assert "· v2" in client.get(reverse("partners_web:shares")).content.decode()


def test_a_rejection_without_a_reason_stays_on_the_page_with_the_error(client, officer_a, awaiting_share):
    response = logged_in(client, officer_a).post(reverse("partners_web:share-reject", args=[awaiting_share.pk]), {})
    assert response.status_code == 400
    with tenant_context(awaiting_share.hospital_id):
        awaiting_share.refresh_from_db()
    assert awaiting_share.status == "awaiting_approval"


def test_doctors_do_not_see_the_share_log(client, hospital_a, awaiting_share):
    client = logged_in(client, member_of(hospital_a, Role.DOCTOR))
    assert client.get(reverse("partners_web:shares")).status_code == 403
    assert client.get(reverse("partners_web:decisions")).status_code == 403


def test_decisions_list_and_page_explain_the_outcome(client, officer_a, awaiting_share):
    client = logged_in(client, officer_a)
    listed = client.get(reverse("partners_web:decisions")).content.decode()
    assert f'data-decision="{awaiting_share.decision_id}"' in listed
    page = client.get(reverse("partners_web:decision", args=[awaiting_share.decision_id])).content.decode()
    assert "awaiting_approval" in page and "k_required" in page


def test_another_hospitals_share_is_not_found(client, hospital_b, awaiting_share):
    client = logged_in(client, member_of(hospital_b, Role.COMPLIANCE_OFFICER))
    assert client.get(reverse("partners_web:share", args=[awaiting_share.pk])).status_code == 404
    assert client.post(reverse("partners_web:share-approve", args=[awaiting_share.pk])).status_code == 404
    assert AuditEvent.objects.filter(action="outbound_share.read", outcome="not_found").exists()


def test_doctors_browse_the_cases_partners_sent(client, hospital_a, peer):
    case = ExternalRareCase.objects.create(partner=peer, share_id=uuid.uuid4(), body_sha256="0" * 64,
                                           bundle={"resourceType": "Bundle", "type": "collection"},
                                           icd10_code="E75.2", diagnosis_text="戈谢病")
    client = logged_in(client, member_of(hospital_a, Role.DOCTOR))
    assert "戈谢病" in client.get(reverse("partners_web:external")).content.decode()
    assert "collection" in client.get(reverse("partners_web:external-case", args=[case.pk])).content.decode()


def test_the_case_page_fragment_shows_decisions_and_shares(rf, officer_a, awaiting_share):
    from django.template.loader import render_to_string

    from apps.partners.selectors import case_sharing

    with tenant_context(awaiting_share.hospital_id):
        sharing = case_sharing(case_id=awaiting_share.case_id)
        html = render_to_string("partners/case_sharing.html", {"sharing": sharing, "case": awaiting_share.case},
                                request=rf.get("/"))
    assert "Peer platform" in html and reverse("partners_web:share", args=[awaiting_share.pk]) in html
