from django.http import JsonResponse
from django.utils.translation import gettext as _

from apps.core.errors import error_body

from .context import tenant_context
from .selectors import TenantAccessDenied, tenant_access_resolve

# Probes must answer even when the database is down, so they run outside any context.
EXEMPT_PREFIXES = ("/healthz", "/readyz", "/static/", "/metrics")
SESSION_HOSPITAL_KEY = "hospital_slug"


class TenantMiddleware:
    """Resolve the caller's hospital and run the rest of the request inside its tenant
    context (one transaction; on PostgreSQL, under row-level security).

    The hospital comes from the `X-Hospital` header (API clients with several
    memberships), else the web admin's session choice, else the user's first
    membership. Anonymous requests run with no hospital and see no tenant rows.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        if request.path.startswith(EXEMPT_PREFIXES):
            return self.get_response(request)
        requested = request.headers.get("X-Hospital") or request.session.get(SESSION_HOSPITAL_KEY)
        try:
            request.tenant = tenant_access_resolve(user=request.user, requested_slug=requested)
        except TenantAccessDenied:
            return JsonResponse(
                error_body("hospital_not_allowed", _("You do not belong to the hospital you asked for.")),
                status=403,
            )
        hospital_id = request.tenant.hospital_id if request.tenant else None
        with tenant_context(hospital_id):
            if request.tenant is not None and request.tenant.membership is None:
                _audit_platform_admin_visit(request)
            return self.get_response(request)


def _audit_platform_admin_visit(request):
    """A platform admin acting inside a hospital they do not belong to crosses
    tenants: every such request is on that hospital's record."""
    from apps.privacy.services import audit_record

    audit_record(action="tenancy.platform_admin_access", actor=request.user, role=request.tenant.role,
                 hospital_id=request.tenant.hospital_id, detail={"method": request.method, "path": request.path[:200]})
