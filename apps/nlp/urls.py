from rest_framework.routers import SimpleRouter

from .api import EntityViewSet

app_name = "nlp"
router = SimpleRouter()
router.register("entities", EntityViewSet, basename="entity")
urlpatterns = router.urls
