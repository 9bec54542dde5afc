"""Dashboard figures and hospital choices, read inside the tenant context a request
would run in."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.tenancy.context import tenant_context
from apps.tenancy.models import Hospital, Membership
from apps.tenancy.roles import Role
from apps.tenancy.selectors import tenant_access_resolve
from apps.webadmin.selectors import dashboard_figures, hospital_choices_for
from tests.factories import HospitalFactory, UserFactory, member_of


def figures_for(user, slug=None) -> dict[str, int]:
    tenant = tenant_access_resolve(user=user, requested_slug=slug)
    with tenant_context(tenant.hospital_id if tenant else None):
        return {figure.key: figure.value for figure in dashboard_figures(user=user, tenant=tenant)}


def choices_for(user, slug=None) -> list[tuple[str, str, bool]]:
    tenant = tenant_access_resolve(user=user, requested_slug=slug)
    return [(choice.slug, choice.role, choice.current) for choice in hospital_choices_for(user=user, tenant=tenant)]


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_its_figures_counted_at_its_hospital_only(clinic, seeded_figures, role):
    # When
    figures = figures_for(clinic.users[role])

    # Then
    assert figures == seeded_figures[role]


def test_the_same_role_at_the_other_hospital_sees_that_hospitals_counts(clinic):
    # Given: an administrator of hospital B, which has one patient, one department and one notice
    admin_b = member_of(clinic.other_hospital, Role.HOSPITAL_ADMIN)

    # When
    figures = figures_for(admin_b)

    # Then
    assert figures == {"patients": 1, "patients_new_7d": 1, "staff": 1, "departments": 1, "notices": 1}


@pytest.mark.parametrize("role", list(Role))
def test_only_the_roles_own_figures_are_queried(clinic, role):
    # Given: the dashboard fragment is polled every 30 seconds by every open dashboard
    user = clinic.users[role]
    tenant = tenant_access_resolve(user=user, requested_slug=None)

    # When
    with tenant_context(tenant.hospital_id), CaptureQueriesContext(connection) as queries:
        figures = dashboard_figures(user=user, tenant=tenant)

    # Then: one COUNT per figure shown, nothing for other roles' figures
    assert len(queries) == len(figures)
    assert all(query["sql"].startswith("SELECT COUNT(*)") for query in queries)


def test_a_user_without_a_hospital_gets_no_figures(db):
    # When
    figures = figures_for(UserFactory())

    # Then
    assert figures == {}


def test_every_figure_has_a_label(clinic):
    # Given
    user = clinic.users[Role.HOSPITAL_ADMIN]
    tenant = tenant_access_resolve(user=user, requested_slug=None)

    # When
    with tenant_context(tenant.hospital_id):
        figures = dashboard_figures(user=user, tenant=tenant)

    # Then
    assert all(str(figure.label).strip() for figure in figures)


def test_hospital_choices_are_the_users_memberships_with_the_current_one_marked(hospital_a, hospital_b):
    # Given
    user = member_of(hospital_a, Role.DOCTOR)
    Membership.objects.create(user=user, hospital=hospital_b, role=Role.COMPLIANCE_OFFICER)
    HospitalFactory(name="Hospital C", slug="hospital-c")

    # When
    choices = choices_for(user, slug="hospital-b")

    # Then
    assert choices == [("hospital-a", Role.DOCTOR, False), ("hospital-b", Role.COMPLIANCE_OFFICER, True)]


def test_hospital_choices_of_a_platform_admin_include_every_active_hospital(hospital_a, hospital_b):
    # Given
    admin = member_of(hospital_a, Role.PLATFORM_ADMIN)
    HospitalFactory(name="Hospital C", slug="hospital-c")
    Hospital.objects.create(name="Closed", slug="closed", active=False)

    # When
    choices = choices_for(admin)

    # Then
    assert choices == [("hospital-a", Role.PLATFORM_ADMIN, True), ("hospital-b", Role.PLATFORM_ADMIN, False),
                       ("hospital-c", Role.PLATFORM_ADMIN, False)]


def test_hospital_choices_leave_out_a_revoked_membership(hospital_a, hospital_b):
    # Given
    user = member_of(hospital_a, Role.DOCTOR)
    Membership.objects.create(user=user, hospital=hospital_b, role=Role.DOCTOR, active=False)

    # When
    choices = choices_for(user)

    # Then
    assert choices == [("hospital-a", Role.DOCTOR, True)]
