from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from apps.tenancy.roles import Role

from .navigation import NAVIGATION
from .selectors import hospital_choices_for


def navigation(request):
    """The shell around every page: the current hospital and role, the role's
    navigation and the hospitals the user may switch to (queried only when a
    template shows them, so fragments pay nothing)."""
    tenant = getattr(request, "tenant", None)
    items = []
    if tenant is not None:
        for url_name, label in NAVIGATION.get(tenant.role, []):
            try:
                url = reverse(url_name)
            except NoReverseMatch:
                continue
            items.append({"url": url, "label": label, "name": url_name, "active": request.path == url})
    user = getattr(request, "user", None)
    return {
        "tenant": tenant,
        "tenant_role_label": Role(tenant.role).label if tenant is not None else "",
        "navigation": items,
        "hospital_choices": SimpleLazyObject(lambda: hospital_choices_for(user=user, tenant=tenant)),
    }
