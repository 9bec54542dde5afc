from django.urls import path

from . import api

app_name = "monitoring"
urlpatterns = [
    path("", api.MonitoringSnapshotApi.as_view(), name="snapshot"),
]
