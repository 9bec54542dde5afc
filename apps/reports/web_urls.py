"""The web admin's lab-report pages, under /reports/ (the API is under /api/v1/reports/)."""

from django.urls import path

from . import views

app_name = "reports_web"
urlpatterns = [
    path("", views.report_list, name="list"),
    path("upload/", views.report_upload, name="upload"),
    path("<int:report_id>/", views.report_detail, name="detail"),
    path("<int:report_id>/file/", views.report_file, name="file"),
    path("<int:report_id>/sign-off/", views.report_sign_off, name="sign-off"),
    path("<int:report_id>/reprocess/", views.report_reprocess, name="reprocess"),
]
