from django.urls import path

from . import api

app_name = "compliance"
urlpatterns = [
    path("events/", api.AuditEventListApi.as_view(), name="events"),
    path("events/export/", api.AuditExportApi.as_view(), name="events-export"),
    path("patients/<int:patient_id>/timeline/", api.PatientTimelineApi.as_view(), name="patient-timeline"),
    path("staff/<int:user_id>/timeline/", api.StaffTimelineApi.as_view(), name="staff-timeline"),
    path("manifests/verify/", api.ManifestVerifyApi.as_view(), name="manifest-verify"),
    path("chains/verify/", api.ChainVerifyApi.as_view(), name="chains-verify"),
    path("cases/", api.CaseListApi.as_view(), name="cases"),
    path("cases/<int:case_id>/", api.CaseDetailApi.as_view(), name="case"),
    path("cases/<int:case_id>/<str:action>/", api.CaseActionApi.as_view(), name="case-action"),
    path("reports/monthly/", api.MonthlyReportApi.as_view(), name="monthly-report"),
    path("consents/", api.ConsentApi.as_view(), name="consents"),
    path("my-access/", api.MyAccessLogApi.as_view(), name="my-access"),
    path("watch/patients/<int:patient_id>/", api.PatientWatchApi.as_view(), name="patient-watch"),
    path("watch/staff/<int:user_id>/", api.StaffProfileApi.as_view(), name="staff-profile"),
]
