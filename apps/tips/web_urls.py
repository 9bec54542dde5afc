from django.urls import path

from . import views

app_name = "tips_web"
urlpatterns = [
    path("", views.tip_list, name="list"),
    path("new/", views.tip_edit, name="new"),
    path("<int:tip_id>/", views.tip_edit, name="edit"),
]
