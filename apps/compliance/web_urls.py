from django.urls import path

from . import views

app_name = "compliance_web"
urlpatterns = [
    path("events/", views.events_page, name="events"),
    path("events/export/", views.export_view, name="export"),
    path("patients/<int:patient_id>/", views.patient_timeline_page, name="patient-timeline"),
    path("staff/<int:user_id>/", views.staff_timeline_page, name="staff-timeline"),
    path("manifests/verify/", views.manifest_verify_page, name="manifest-verify"),
    path("chains/", views.chains_page, name="chains"),
    path("cases/", views.cases_page, name="cases"),
    path("cases/<int:case_id>/", views.case_page, name="case"),
    path("reports/", views.report_page, name="report"),
]
