from django.urls import path

from . import views

app_name = "reminders_web"
urlpatterns = [
    path("", views.adherence_page, name="adherence"),
    path("patients/<int:patient_id>/", views.patient_plans, name="patient"),
    path("plans/<int:plan_id>/end/", views.plan_end, name="plan-end"),
]
