"""The sharing side seen from the registry: its panel on the case page and the
cases partners shared with us among a case's related data (step 8)."""

import uuid

import pytest

from apps.partners.models import ExternalRareCase
from apps.rarecases.keepalive import case_keep_alive
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of
from tests.support.partners import partner_make, rare_case_make

pytestmark = pytest.mark.django_db


def external_case(partner, *, icd10, category="E70-E90"):
    return ExternalRareCase.objects.create(partner=partner, share_id=uuid.uuid4(), body_sha256="0" * 64, bundle={},
                                           pseudonym="p", sex="F", age_band="40-49", region="3101",
                                           icd10_code=icd10, diagnosis_text="戈谢病", category=category)


def test_the_case_page_shows_the_sharing_panel(hospital_a, sharing):
    case = rare_case_make(hospital_a)

    page = client_for(member_of(hospital_a, Role.DOCTOR)).get(f"/rare-cases/{case.pk}/")

    assert page.status_code == 200
    assert 'data-testid="case-sharing"' in page.content.decode()


def test_keeping_a_case_alive_brings_the_partners_cases_with_the_same_code(hospital_a, sharing):
    partner, _key = partner_make(sharing)
    same = external_case(partner, icd10="E75.2")
    external_case(partner, icd10="Q87.4", category="Q80-Q89")  # another field: not related
    case = rare_case_make(hospital_a)

    with tenant_context(hospital_a.pk):
        refreshed = case_keep_alive(case_id=case.pk)

    external = [item for item in refreshed.related_data["items"] if item["kind"] == "external_case"]
    assert [item["key"] for item in external] == [f"{partner.pk}:{same.share_id}"]
    assert external[0]["detail"]["same_code"] and external[0]["detail"]["partner"] == partner.name
