"""The web admin's clinical NLP pages, under /nlp/ (the API is under /api/v1/nlp/)."""

from django.urls import path

from . import views

app_name = "nlp_web"
urlpatterns = [
    path("entities/", views.entity_search_page, name="entities"),
    path("encounters/<int:encounter_id>/", views.encounter_record_page, name="encounter-record"),
]
