from django.urls import path

from . import api

app_name = "configuration"
urlpatterns = [
    path("settings/", api.SettingListApi.as_view(), name="settings"),
    path("settings/<str:key>/", api.SettingDetailApi.as_view(), name="setting-detail"),
]
