from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "apps.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self):
        from django.db.models.signals import post_migrate

        from .database import grant_application_role

        post_migrate.connect(grant_application_role, dispatch_uid="tenancy.grant_application_role")
