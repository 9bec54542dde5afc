from rest_framework.permissions import BasePermission


def tenant_of(request):
    """The TenantAccess the middleware resolved (None: no hospital)."""
    return getattr(getattr(request, "_request", request), "tenant", None)


def HasTenantRole(*roles: str):  # noqa: N802 - reads like a class in permission_classes
    """Allow callers acting for a hospital in one of `roles`."""

    class _HasTenantRole(BasePermission):
        message = "Your role at this hospital may not do this."

        def has_permission(self, request, view):
            tenant = tenant_of(request)
            return tenant is not None and tenant.role in roles

    _HasTenantRole.__name__ = f"HasTenantRole({', '.join(roles)})"
    return _HasTenantRole
