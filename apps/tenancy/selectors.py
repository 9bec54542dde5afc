from dataclasses import dataclass

from django.db.models import QuerySet

from .models import Hospital, Membership
from .roles import STAFF_ROLES, Role


@dataclass(frozen=True)
class TenantAccess:
    """Who the caller is at which hospital, for this request or connection."""

    hospital: Hospital
    role: str
    membership: Membership | None  # None only for a platform admin visiting another hospital

    @property
    def hospital_id(self) -> int:
        return self.hospital.pk

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES


class TenantAccessDenied(Exception):
    pass


def memberships_active_for_user(*, user) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user, active=True, hospital__active=True)
        .select_related("hospital")
        .order_by("created_at", "pk")
    )


def user_is_platform_admin(*, user) -> bool:
    return Membership.objects.filter(user=user, active=True, role=Role.PLATFORM_ADMIN).exists()


def tenant_access_resolve(*, user, requested_slug: str | None) -> TenantAccess | None:
    """The hospital a user acts for: the requested one if they belong to it (or are a
    platform admin), else their first membership. None when they belong nowhere.

    Raises TenantAccessDenied for a requested hospital they may not act for.
    """
    if user is None or not user.is_authenticated:
        return None
    memberships = list(memberships_active_for_user(user=user))
    if requested_slug:
        for membership in memberships:
            if membership.hospital.slug == requested_slug:
                return TenantAccess(hospital=membership.hospital, role=membership.role, membership=membership)
        if any(m.role == Role.PLATFORM_ADMIN for m in memberships):
            hospital = Hospital.objects.filter(slug=requested_slug, active=True).first()
            if hospital is not None:
                return TenantAccess(hospital=hospital, role=Role.PLATFORM_ADMIN, membership=None)
        raise TenantAccessDenied(requested_slug)
    if not memberships:
        return None
    first = memberships[0]
    return TenantAccess(hospital=first.hospital, role=first.role, membership=first)


def hospital_get_by_slug(*, slug: str) -> Hospital | None:
    return Hospital.objects.filter(slug=slug, active=True).first()
