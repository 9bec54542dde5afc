from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.privacy.services import audit_record
from apps.tenancy.middleware import SESSION_HOSPITAL_KEY
from apps.tenancy.selectors import TenantAccessDenied, memberships_active_for_user, tenant_access_resolve

from .selectors import dashboard_figures


class LoginView(auth_views.LoginView):
    template_name = "webadmin/login.html"
    redirect_authenticated_user = True


@login_required
def dashboard(request):
    tenant = request.tenant
    context = {
        "figures": dashboard_figures(user=request.user, tenant=tenant),
        "memberships": memberships_active_for_user(user=request.user),
    }
    return render(request, "webadmin/dashboard.html", context)


@login_required
@require_POST
def switch_hospital(request):
    """Act for another hospital: one of the user's, or any for a platform admin
    (audited, since it crosses tenants)."""
    slug = request.POST.get("hospital", "")
    try:
        access = tenant_access_resolve(user=request.user, requested_slug=slug)
    except TenantAccessDenied:
        messages.error(request, _("You do not belong to that hospital."))
        return redirect("webadmin:dashboard")
    request.session[SESSION_HOSPITAL_KEY] = slug
    audit_record(action="tenancy.switch_hospital", actor=request.user, role=access.role,
                 hospital_id=access.hospital_id, detail={"hospital": slug,
                                                        "as_platform_admin": access.membership is None})
    return redirect("webadmin:dashboard")
