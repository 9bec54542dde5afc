"""The web admin's booking pages, under /booking/ (the API is under /api/v1/booking/)."""

from django.urls import path

from . import views

app_name = "booking_web"
urlpatterns = [
    path("", views.day_page, name="day"),
    path("check-in/", views.check_in_voucher_view, name="check-in-voucher"),
    path("appointments/<int:appointment_id>/check-in/", views.check_in_view, name="check-in"),
    path("appointments/<int:appointment_id>/complete/", views.complete_view, name="complete"),
    path("schedules/", views.schedules_page, name="schedules"),
    path("schedules/<int:schedule_id>/", views.schedule_page, name="schedule"),
    path("schedules/<int:schedule_id>/publish/", views.schedule_publish_view, name="schedule-publish"),
    path("schedules/<int:schedule_id>/stop/", views.schedule_stop_view, name="schedule-stop"),
    path("slots/<int:slot_id>/capacity/", views.slot_capacity_view, name="slot-capacity"),
    path("experts/", views.experts_page, name="experts"),
    path("statistics/", views.statistics_page, name="statistics"),
]
