"""The web admin's partner pages, under /partners/ (the API is under /api/v1/partners/)."""

from django.urls import path

from . import views

app_name = "partners_web"
urlpatterns = [
    path("", views.partner_list_page, name="list"),
    path("new/", views.partner_create_page, name="create"),
    path("<int:partner_id>/", views.partner_page, name="partner"),
    path("<int:partner_id>/edit/", views.partner_edit_page, name="edit"),
    path("<int:partner_id>/status/", views.partner_status_page, name="status"),
    path("<int:partner_id>/rotate-key/", views.partner_rotate_key_page, name="rotate-key"),
    path("shares/", views.share_log_page, name="shares"),
    path("shares/<int:share_id>/", views.share_page, name="share"),
    path("shares/<int:share_id>/approve/", views.share_review_page, {"verdict": "approve"}, name="share-approve"),
    path("shares/<int:share_id>/reject/", views.share_review_page, {"verdict": "reject"}, name="share-reject"),
    path("decisions/", views.decision_list_page, name="decisions"),
    path("decisions/<int:decision_id>/", views.decision_page, name="decision"),
    path("cases/<int:case_id>/decide/", views.case_decide_page, name="case-decide"),
    path("external/", views.external_list_page, name="external"),
    path("external/<int:case_id>/", views.external_page, name="external-case"),
]
