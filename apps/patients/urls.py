from rest_framework.routers import SimpleRouter

from .api import PatientViewSet
from .clinical_api import DiagnosisViewSet, EncounterViewSet

app_name = "patients"
router = SimpleRouter()
router.register("patients", PatientViewSet, basename="patient")
router.register("encounters", EncounterViewSet, basename="encounter")
router.register("diagnoses", DiagnosisViewSet, basename="diagnosis")
urlpatterns = router.urls
