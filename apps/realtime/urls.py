from rest_framework.routers import SimpleRouter

from .api import NoticeViewSet

app_name = "realtime"
router = SimpleRouter()
router.register("notices", NoticeViewSet, basename="notice")
urlpatterns = router.urls
