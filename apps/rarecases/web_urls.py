"""The web admin's rare-case pages, under /rare-cases/ (the API is under /api/v1/rare-cases/)."""

from django.urls import path

from . import views

app_name = "rarecases_web"
urlpatterns = [
    path("", views.registry, name="registry"),
    path("<int:case_id>/", views.case_page, name="case"),
    path("<int:case_id>/follow/", views.case_follow_toggle, name="follow"),
    path("search/", views.search, name="search"),
    path("search/<uuid:entry_id>/", views.entry_page, name="entry"),
    path("runs/", views.runs, name="runs"),
    path("runs/<str:kind>/start/", views.run_start, name="run-start"),
]
