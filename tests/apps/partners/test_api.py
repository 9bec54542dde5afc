"""The partners API: who may do what, what is never shown, decisions and the share log
for compliance, approval, external cases; query counts of the lists."""

import uuid

import pytest

from apps.partners.models import ExternalRareCase, OutboundShare, SharingPartner
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of
from tests.support.partners import hospital_settings, population, rare_case_make

pytestmark = pytest.mark.django_db
BASE = "/api/v1/partners/"
NEW_PARTNER = {"name": "罕见病协作平台", "code": "rare-net", "endpoint_url": "https://rare.example.org/",
               "our_id_at_partner": "hospital-platform-7781", "research_focus": ["E70-E90", "G71"],
               "data_categories": ["condition", "observation"]}


def test_a_platform_admin_registers_a_partner_and_sees_its_key_once(admin):
    response = client_for(admin).post(BASE, NEW_PARTNER, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["hmac_key"]) >= 43 and body["partner"]["feature_tag"] == \
        "protocols=hp-share/1;fhir=4.3;focus=E70-E90,G71;data=condition,observation"
    assert body["partner"]["our_id_at_partner"] == "…7781"
    # the key and our id are encrypted at rest and never shown again
    partner = SharingPartner.objects.get(code="rare-net")
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT hmac_key, our_id_at_partner FROM partners_sharingpartner WHERE id = %s", [partner.pk])
        stored_key, stored_id = cursor.fetchone()
    assert stored_key.startswith("enc:v1:") and body["hmac_key"] not in stored_key
    assert stored_id.startswith("enc:v1:")
    listed = client_for(admin).get(BASE).json()["results"][0]
    assert "hmac_key" not in listed and body["hmac_key"] not in str(listed)
    assert AuditEvent.objects.filter(action="partners.partner_create", object_id=str(partner.pk)).exists()


@pytest.mark.parametrize("role", [Role.HOSPITAL_ADMIN, Role.DOCTOR, Role.COMPLIANCE_OFFICER])
def test_only_platform_admins_manage_partners(hospital_a, role, peer):
    client = client_for(member_of(hospital_a, role))
    assert client.get(BASE).status_code == 200  # staff read them
    assert client.post(BASE, NEW_PARTNER, format="json").status_code == 403
    assert client.post(f"{BASE}{peer.pk}/status/", {"status": "revoked"}, format="json").status_code == 403
    assert client.post(f"{BASE}{peer.pk}/rotate-key/", {}, format="json").status_code == 403
    assert client.patch(f"{BASE}{peer.pk}/", {"name": "x"}, format="json").status_code == 403
    peer.refresh_from_db()
    assert peer.status == "active" and peer.name == "Peer platform"


def test_patients_see_no_partners(hospital_a, peer):
    assert client_for(member_of(hospital_a, Role.PATIENT)).get(BASE).status_code == 403


def test_bad_partner_input_is_a_clear_400(admin):
    client = client_for(admin)
    for change, field in (({"data_categories": ["observation"]}, "data_categories"),
                          ({"research_focus": []}, "research_focus"),
                          ({"endpoint_url": "not a url"}, "endpoint_url"),
                          ({"endpoint_url": "ftp://rare.example.org/"}, "endpoint_url"),
                          ({"hmac_key": "short"}, "hmac_key")):
        response = client.post(BASE, {**NEW_PARTNER, **change}, format="json")
        assert response.status_code == 400, (change, response.json())
        assert field in response.json()["error"]["fields"]
    assert client.post(BASE, NEW_PARTNER, format="json").status_code == 201
    assert client.post(BASE, NEW_PARTNER, format="json").json()["error"]["code"] == "partner_exists"


def test_editing_the_attributes_rebuilds_the_tag_and_revoked_is_final(admin, peer):
    client = client_for(admin)
    response = client.patch(f"{BASE}{peer.pk}/", {"research_focus": ["Q87"], "interconnected": False}, format="json")
    assert response.status_code == 200
    assert response.json()["feature_tag"].endswith("focus=Q87;data=condition,observation,diagnostic_report")
    assert response.json()["interconnected"] is False
    assert client.post(f"{BASE}{peer.pk}/status/", {"status": "revoked"}, format="json").json()["status"] == "revoked"
    again = client.post(f"{BASE}{peer.pk}/status/", {"status": "active"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "partner_status_invalid"


def test_a_rotated_key_is_shown_once_and_its_fingerprint_changes(admin, peer):
    before = peer.key_fingerprint
    response = client_for(admin).post(f"{BASE}{peer.pk}/rotate-key/", {}, format="json")
    assert response.status_code == 200 and response.json()["partner"]["key_fingerprint"] != before


def test_the_platform_feature_tag(hospital_a, peer):
    tag = client_for(member_of(hospital_a, Role.DOCTOR)).get(f"{BASE}feature-tag/").json()
    assert tag == {"protocols": ["hp-share/1"], "fhir_version": "4.3", "research_focus": ["*"],
                   "data_categories": ["condition", "observation", "diagnostic_report"],
                   "text": "protocols=hp-share/1;fhir=4.3;focus=*;data=condition,observation,diagnostic_report"}


def test_a_compliance_officer_reads_decisions_with_their_reasons(hospital_a, officer_a, awaiting_share):
    response = client_for(officer_a).get(f"{BASE}decisions/")
    assert response.status_code == 200
    decision = response.json()["results"][0]
    assert decision["outcome"] == "awaiting_approval" and decision["decided_by"] == "first"
    assert decision["reasons"][0]["code"] == "awaiting_approval" and decision["reasons"][0]["message"]
    assert decision["shares"][0]["status"] == "awaiting_approval"
    assert decision["inputs"]["k_anonymity"]["passed"] is True
    assert AuditEvent.objects.filter(action="share_decision.list", actor_id=officer_a.pk).exists()


def test_doctors_do_not_read_decisions_or_shares(hospital_a, awaiting_share):
    client = client_for(member_of(hospital_a, Role.DOCTOR))
    assert client.get(f"{BASE}decisions/").status_code == 403
    assert client.get(f"{BASE}shares/").status_code == 403


def test_another_hospitals_share_is_not_found(hospital_b, awaiting_share):
    officer_b = member_of(hospital_b, Role.COMPLIANCE_OFFICER)
    client = client_for(officer_b)
    assert client.get(f"{BASE}shares/{awaiting_share.pk}/").status_code == 404
    assert client.post(f"{BASE}shares/{awaiting_share.pk}/approve/", {}, format="json").status_code == 404
    assert client.get(f"{BASE}shares/").json()["results"] == []


def test_an_officer_approves_through_the_api(hospital_a, officer_a, hospital_admin_a, awaiting_share, sharing):
    from tests.support.partners import platform_settings

    platform_settings(sharing, max_attempts=1)
    assert client_for(hospital_admin_a).post(f"{BASE}shares/{awaiting_share.pk}/approve/", {}, format="json") \
        .status_code == 403
    response = client_for(officer_a).post(f"{BASE}shares/{awaiting_share.pk}/approve/", {"note": "ok"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["reviewed_by"] == officer_a.username
    detail = client_for(officer_a).get(f"{BASE}shares/{awaiting_share.pk}/").json()
    assert detail["payload"]["resourceType"] == "Bundle"
    again = client_for(officer_a).post(f"{BASE}shares/{awaiting_share.pk}/approve/", {}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "share_not_awaiting_approval"


def test_the_share_log_tells_an_update_from_a_first_share(hospital_a, officer_a, awaiting_update):
    update = client_for(officer_a).get(f"{BASE}shares/{awaiting_update.pk}/").json()
    assert (update["version"], update["origin"], update["status"]) == (2, awaiting_update.origin_id,
                                                                      "awaiting_approval")
    decision = client_for(officer_a).get(f"{BASE}decisions/{update['decision']}/").json()
    assert (decision["trigger"], decision["decided_by"], decision["outcome"]) == \
        ("case_updated", "update", "awaiting_approval")
    assert decision["shares"][0]["version"] == 2


def test_a_rejection_needs_a_note(officer_a, awaiting_share):
    client = client_for(officer_a)
    response = client.post(f"{BASE}shares/{awaiting_share.pk}/reject/", {}, format="json")
    assert response.status_code == 400 and "note" in response.json()["error"]["fields"]
    assert client.post(f"{BASE}shares/{awaiting_share.pk}/reject/", {"note": "not now"}, format="json").json()["status"] \
        == "rejected"


def test_staff_ask_for_a_decision_again(hospital_a, officer_a, awaiting_share):
    response = client_for(officer_a).post(f"{BASE}cases/{awaiting_share.case_id}/decide/")
    assert response.status_code == 201 and response.json()["outcome"] == "already_shared"
    assert response.json()["trigger"] == "manual"
    assert client_for(officer_a).post(f"{BASE}cases/999999/decide/").status_code == 404


def test_lists_do_not_grow_queries_with_rows(hospital_a, officer_a, peer, sharing):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.partners.services import rare_case_share_decide

    hospital_settings(sharing, hospital_a, approval_required=True)
    population(hospital_a, count=10)
    client = client_for(officer_a)
    queries = {}
    for count in (1, 6):
        while True:
            with tenant_context(hospital_a.pk):
                if OutboundShare.objects.count() >= count:
                    break
            case = rare_case_make(hospital_a)
            with tenant_context(hospital_a.pk):
                rare_case_share_decide(case_id=case.pk)
        for path in ("shares/", "decisions/"):
            with CaptureQueriesContext(connection) as captured:
                assert len(client.get(f"{BASE}{path}").json()["results"]) == count
            queries[(path, count)] = len(captured)
    # (one query either way: an audit chain's head row may be created on first use)
    for path in ("shares/", "decisions/"):
        assert queries[(path, 6)] <= queries[(path, 1)] + 1 <= 16, queries


def test_staff_read_the_cases_partners_sent(hospital_a, peer):
    ExternalRareCase.objects.create(partner=peer, share_id=uuid.uuid4(), body_sha256="0" * 64,
                                    bundle={"resourceType": "Bundle"}, icd10_code="E75.2", diagnosis_text="戈谢病")
    client = client_for(member_of(hospital_a, Role.DOCTOR))
    listed = client.get(f"{BASE}external-cases/?icd10=E75").json()["results"]
    assert [c["icd10_code"] for c in listed] == ["E75.2"] and "bundle" not in listed[0]
    detail = client.get(f"{BASE}external-cases/{listed[0]['id']}/").json()
    assert detail["bundle"] == {"resourceType": "Bundle"}
    assert client.get(f"{BASE}external-cases/?icd10=G71").json()["results"] == []
