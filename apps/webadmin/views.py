from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.privacy.models import AuditOutcome
from apps.privacy.services import audit_record
from apps.tenancy.middleware import SESSION_HOSPITAL_KEY
from apps.tenancy.selectors import TenantAccessDenied, tenant_access_resolve

from .forms import LockoutAuthenticationForm
from .selectors import dashboard_figures


class LoginView(auth_views.LoginView):
    template_name = "webadmin/login.html"
    authentication_form = LockoutAuthenticationForm
    redirect_authenticated_user = True


def fragment_login_required(view):
    """`login_required` for htmx fragments: an expired session must not swap the
    login page into a panel, so answer 401 and tell htmx to load the login page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        response = HttpResponse(status=401)
        response["HX-Redirect"] = redirect_to_login(reverse("webadmin:dashboard")).url
        return response

    return wrapped


def _figures_context(request) -> dict:
    return {
        "figures": dashboard_figures(user=request.user, tenant=request.tenant),
        "updated_at": timezone.now().replace(microsecond=0),
    }


@login_required
def dashboard(request):
    return render(request, "webadmin/dashboard.html", _figures_context(request))


@require_GET
@fragment_login_required
@never_cache
def dashboard_figures_panel(request):
    """The dashboard's figures alone, for the panel's periodic htmx refresh."""
    return render(request, "webadmin/partials/figures.html", _figures_context(request))


@login_required
@require_POST
def switch_hospital(request):
    """Act for another hospital: one of the user's, or any for a platform admin.
    Both the switch and a refused attempt are audited, since they cross tenants."""
    slug = request.POST.get("hospital", "").strip()
    if not slug:
        messages.error(request, _("Choose a hospital to switch to."))
        return redirect("webadmin:dashboard")
    current = request.tenant
    try:
        access = tenant_access_resolve(user=request.user, requested_slug=slug)
    except TenantAccessDenied:
        audit_record(action="tenancy.switch_hospital", actor=request.user, role=current.role if current else "",
                     outcome=AuditOutcome.DENIED, detail={"hospital": slug[:64]})
        messages.error(request, _("You do not belong to that hospital."))
        return redirect("webadmin:dashboard")
    request.session[SESSION_HOSPITAL_KEY] = slug
    audit_record(action="tenancy.switch_hospital", actor=request.user, role=access.role,
                 hospital_id=access.hospital_id, detail={"hospital": slug,
                                                        "as_platform_admin": access.membership is None})
    messages.success(request, _("You are now working at %(hospital)s.") % {"hospital": access.hospital.name})
    return redirect("webadmin:dashboard")
