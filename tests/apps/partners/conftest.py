import pytest

from apps.tenancy.roles import Role
from tests.factories import member_of
from apps.partners.services import rare_case_share_decide
from apps.tenancy.context import tenant_context
from tests.support.partners import (hospital_settings, partner_make, platform_admin, platform_settings, population,
                                    rare_case_make)


@pytest.fixture
def admin(hospital_a):
    return platform_admin(hospital_a)


@pytest.fixture
def officer_a(hospital_a):
    return member_of(hospital_a, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def hospital_admin_a(hospital_a):
    return member_of(hospital_a, Role.HOSPITAL_ADMIN)


@pytest.fixture
def sharing(admin):
    """The presets most tests start from: range [0.5, 1.0], no approval, k=5."""
    platform_settings(admin, share_index_low=0.5, share_index_high=1.0, approval_required=False, k_anonymity=5)
    return admin


@pytest.fixture
def peer(sharing):
    """An active, interconnected partner focused on E70-E90 (its endpoint is a closed port)."""
    return partner_make(sharing, focus=["E70-E90"], our_id="our-id-at-peer-1234")[0]


@pytest.fixture
def awaiting_share(hospital_a, peer, sharing):
    """A share of hospital A waiting for a compliance officer."""
    hospital_settings(sharing, hospital_a, approval_required=True)
    population(hospital_a, count=10)
    case = rare_case_make(hospital_a)
    with tenant_context(hospital_a.pk):
        return rare_case_share_decide(case_id=case.pk).shares.get()
