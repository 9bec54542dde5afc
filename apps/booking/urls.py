from rest_framework.routers import SimpleRouter

from .api import AppointmentViewSet, CatalogueExpertViewSet, WaitlistViewSet

app_name = "booking"
router = SimpleRouter()
router.register("experts", CatalogueExpertViewSet, basename="expert")
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("waitlist", WaitlistViewSet, basename="waitlist")
urlpatterns = router.urls
