import pytest

from apps.tenancy.roles import Role
from tests.factories import member_of
from tests.support.partners import platform_admin, platform_settings


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
