from rest_framework.routers import SimpleRouter

from .api import TipViewSet

app_name = "tips"
router = SimpleRouter()
router.register("", TipViewSet, basename="tip")
urlpatterns = router.urls
