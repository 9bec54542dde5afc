from rest_framework.routers import SimpleRouter

from .api import AnalysisViewSet, CaseViewSet, CatalogueViewSet, IndexViewSet, TrendRunViewSet

app_name = "rarecases"
router = SimpleRouter()
router.register("rare-cases/search", IndexViewSet, basename="rare-case-index")
router.register("rare-cases/catalogue", CatalogueViewSet, basename="rare-disease")
router.register("rare-cases/analyses", AnalysisViewSet, basename="rarity-analysis")
router.register("rare-cases/trend-runs", TrendRunViewSet, basename="trend-run")
router.register("rare-cases", CaseViewSet, basename="rare-case")
urlpatterns = router.urls
