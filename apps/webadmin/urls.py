from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "webadmin"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dashboard/figures/", views.dashboard_figures_panel, name="dashboard-figures"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("switch-hospital/", views.switch_hospital, name="switch-hospital"),
]
