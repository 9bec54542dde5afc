from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.configuration.monitoring.metrics_view import metrics
from apps.core import health

api_v1 = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("auth/", include("apps.accounts.urls")),
    path("", include("apps.patients.urls")),
    path("", include("apps.realtime.urls")),
    path("", include("apps.reports.urls")),
    path("configuration/", include("apps.configuration.urls")),
    path("", include("apps.imaging.urls")),
    path("monitoring/", include("apps.configuration.monitoring.urls")),
    path("booking/", include("apps.booking.urls")),
    path("compliance/", include("apps.compliance.urls")),
    path("reminders/", include("apps.reminders.urls")),
    path("tips/", include("apps.tips.urls")),
    path("nlp/", include("apps.nlp.urls")),
    path("partners/", include("apps.partners.urls")),
    path("", include("apps.rarecases.urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("django-admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("configuration/", include("apps.configuration.web_urls")),
    path("reports/", include("apps.reports.web_urls")),
    path("booking/", include("apps.booking.web_urls")),
    path("compliance/", include("apps.compliance.web_urls")),
    path("reminders/", include("apps.reminders.web_urls")),
    path("tips/", include("apps.tips.web_urls")),
    path("nlp/", include("apps.nlp.web_urls")),
    path("imaging/", include("apps.imaging.web_urls")),
    path("partners/", include("apps.partners.web_urls")),
    path("rare-cases/", include("apps.rarecases.web_urls")),
    path("", include("apps.webadmin.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "apps.core.errors.handler400"
handler403 = "apps.core.errors.handler403"
handler404 = "apps.core.errors.handler404"
handler500 = "apps.core.errors.handler500"
