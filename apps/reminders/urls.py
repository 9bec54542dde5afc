from rest_framework.routers import SimpleRouter

from .api import DoseViewSet, FamilyAccessViewSet, PlanViewSet

app_name = "reminders"
router = SimpleRouter()
router.register("plans", PlanViewSet, basename="plan")
router.register("doses", DoseViewSet, basename="dose")
router.register("family", FamilyAccessViewSet, basename="family")
urlpatterns = router.urls
