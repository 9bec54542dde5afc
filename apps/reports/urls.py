from rest_framework.routers import SimpleRouter

from .api import LabReportViewSet

app_name = "reports"
router = SimpleRouter()
router.register("reports", LabReportViewSet, basename="lab-report")
urlpatterns = router.urls
