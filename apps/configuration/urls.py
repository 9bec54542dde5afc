from django.urls import path

from . import api, model_api, periodic_api

app_name = "configuration"
urlpatterns = [
    path("settings/", api.SettingListApi.as_view(), name="settings"),
    path("settings/<str:key>/", api.SettingDetailApi.as_view(), name="setting-detail"),
    path("algorithms/", model_api.AlgorithmListApi.as_view(), name="algorithms"),
    path("models/", model_api.ModelListApi.as_view(), name="models"),
    path("deployments/", model_api.DeploymentListApi.as_view(), name="deployments"),
    path("deployments/<str:task>/activate/", model_api.DeploymentActivateApi.as_view(), name="deployment-activate"),
    path("deployments/<str:task>/rollback/", model_api.DeploymentRollbackApi.as_view(), name="deployment-rollback"),
    path("deployments/<str:task>/shadow/", model_api.ShadowApi.as_view(), name="deployment-shadow"),
    path("periodic-tasks/", periodic_api.PeriodicTaskListApi.as_view(), name="periodic-tasks"),
    path("periodic-tasks/<int:task_id>/", periodic_api.PeriodicTaskDetailApi.as_view(), name="periodic-task-detail"),
]
