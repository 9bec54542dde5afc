from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

app_name = "partners"
router = SimpleRouter()
router.register("decisions", api.DecisionViewSet, basename="decision")
router.register("shares", api.ShareViewSet, basename="share")
router.register("external-cases", api.ExternalCaseViewSet, basename="external-case")
router.register("", api.PartnerViewSet, basename="partner")
urlpatterns = [
    path("inbound/", api.InboundShareApi.as_view(), name="inbound"),
    path("feature-tag/", api.FeatureTagApi.as_view(), name="feature-tag"),
    path("cases/<int:case_id>/decide/", api.CaseDecideApi.as_view(), name="case-decide"),
    *router.urls,
]
