"""The web admin's imaging pages, under /imaging/ (the API is under /api/v1/imaging/)."""

from django.urls import path

from . import views

app_name = "imaging_web"
urlpatterns = [
    path("", views.study_list, name="studies"),
    path("<int:study_id>/", views.viewer, name="viewer"),
    path("<int:study_id>/review/", views.review, name="review"),
]
