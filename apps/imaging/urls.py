from rest_framework.routers import SimpleRouter

from .api import ImagingStudyViewSet

app_name = "imaging"
router = SimpleRouter()
router.register("imaging/studies", ImagingStudyViewSet, basename="imaging-study")
urlpatterns = router.urls
