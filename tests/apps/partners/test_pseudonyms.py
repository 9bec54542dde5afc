"""Each partner gets its own pseudonym for a patient: the same on every share to it
(it can link the patient's cases), different from any other partner's (two partners
cannot join their copies), derived from the partner's code, not its name.

Delivery is not what these tests look at: the partners' endpoints are a closed port
(one attempt); the Bundle stored on the share is exactly what is sent."""

import json

import pytest

from apps.compliance.deidentify import pseudonym
from apps.compliance.models import ConsentPurpose
from apps.partners.fhir import PSEUDONYM_SYSTEM
from apps.partners.models import OutboundShare
from apps.partners.services import partner_update, rare_case_share_decide
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.support.partners import partner_make, platform_settings, population, rare_case_make

pytestmark = pytest.mark.django_db


def bundle_pseudonym(share: OutboundShare) -> str:
    [patient] = [e["resource"] for e in json.loads(share.payload)["entry"]
                 if e["resource"]["resourceType"] == "Patient"]
    return next(i["value"] for i in patient["identifier"] if i["system"] == PSEUDONYM_SYSTEM)


def shared(case) -> dict[str, str]:
    """Decide on the case; the pseudonym each partner's Bundle carries, by partner code."""
    with tenant_context(case.hospital_id):
        decision = rare_case_share_decide(case_id=case.pk)
        shares = OutboundShare.objects.select_related("partner").filter(decision=decision)
        return {share.partner.code: bundle_pseudonym(share) for share in shares}


@pytest.fixture
def two_partners(sharing, hospital_a):
    platform_settings(sharing, max_attempts=1)
    population(hospital_a, count=10)
    return (partner_make(sharing, code="north", name="North platform")[0],
            partner_make(sharing, code="south", name="South platform")[0])


@pytest.fixture
def two_cases_of_one_patient(hospital_a, two_partners):
    """The same patient's two rare cases, each shared with both partners."""
    first = rare_case_make(hospital_a)
    second = rare_case_make(hospital_a, icd10="E76.0", text="黏多糖贮积症", patient=first.patient, consented=False)
    return first.patient, shared(first), shared(second)


def test_one_patient_shared_twice_with_a_partner_has_one_pseudonym_there(two_cases_of_one_patient):
    _patient, first, second = two_cases_of_one_patient
    assert set(first) == set(second) == {"north", "south"}
    assert first["north"] == second["north"] and first["south"] == second["south"]


def test_two_partners_get_different_pseudonyms_for_the_same_patient(two_cases_of_one_patient):
    _patient, first, _second = two_cases_of_one_patient
    assert first["north"] != first["south"]


def test_the_pseudonym_is_the_partners_own_not_the_purposes(hospital_a, two_cases_of_one_patient):
    patient, first, _second = two_cases_of_one_patient
    purpose = ConsentPurpose.PARTNER_SHARING
    for code in ("north", "south"):
        assert first[code] == pseudonym(patient.pk, purpose=purpose, hospital_id=hospital_a.pk,
                                        recipient=f"partner:{code}")
    assert pseudonym(patient.pk, purpose=purpose, hospital_id=hospital_a.pk) not in first.values()


def test_each_release_names_its_partner_in_the_audit(two_cases_of_one_patient):
    _patient, _first, _second = two_cases_of_one_patient
    releases = AuditEvent.objects.filter(action="partners.share.release")
    assert sorted((e.detail["purpose"], e.detail["recipient"]) for e in releases) == [
        ("partner_sharing", "partner:north"), ("partner_sharing", "partner:north"),
        ("partner_sharing", "partner:south"), ("partner_sharing", "partner:south")]


def test_renaming_a_partner_keeps_its_pseudonyms(hospital_a, two_partners, sharing):
    # Given a patient shared with "north" before the partner's display name changed
    north, _south = two_partners
    first = rare_case_make(hospital_a)
    before = shared(first)["north"]

    partner_update(partner_id=north.pk, name="North platform (renamed)", actor=sharing, role=Role.PLATFORM_ADMIN)

    # then the patient's next case reaches it under the same pseudonym
    second = rare_case_make(hospital_a, icd10="E76.0", text="黏多糖贮积症", patient=first.patient, consented=False)
    assert shared(second)["north"] == before
