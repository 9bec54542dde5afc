"""The web admin's configuration pages, under /configuration/ (the API is under
/api/v1/configuration/)."""

from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "configuration_web"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="configuration_web:settings"), name="index"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/<str:key>/", views.setting_row, name="setting-row"),
    path("settings/<str:key>/set/", views.setting_update, name="setting-set"),
    path("settings/<str:key>/reset/", views.setting_reset_view, name="setting-reset"),
    path("algorithms/", views.algorithms_page, name="algorithms"),
    path("algorithms/<str:task>/implementation/", views.implementation_choose, name="implementation-choose"),
    path("algorithms/<str:task>/activate/", views.model_activate_view, name="model-activate"),
    path("algorithms/<str:task>/rollback/", views.model_rollback_view, name="model-rollback"),
    path("algorithms/<str:task>/shadow/stop/", views.shadow_stop_view, name="shadow-stop"),
    path("monitoring/", views.monitoring_page, name="monitoring"),
    path("monitoring/panel/", views.monitoring_panel, name="monitoring-panel"),
    path("periodic-jobs/", views.periodic_list, name="periodic"),
    path("periodic-jobs/new/", views.periodic_edit, name="periodic-new"),
    path("periodic-jobs/<int:task_id>/", views.periodic_edit, name="periodic-edit"),
]
