from django.urls import NoReverseMatch, reverse

from .navigation import NAVIGATION


def navigation(request):
    tenant = getattr(request, "tenant", None)
    items = []
    if tenant is not None:
        for url_name, label in NAVIGATION.get(tenant.role, []):
            try:
                items.append({"url": reverse(url_name), "label": label, "name": url_name})
            except NoReverseMatch:
                continue
    return {"tenant": tenant, "navigation": items}
