from django.apps import AppConfig


class WebadminConfig(AppConfig):
    name = "apps.webadmin"
    label = "webadmin"
    verbose_name = "Web admin"
