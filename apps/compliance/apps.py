from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "apps.compliance"
    label = "compliance"
    verbose_name = "Compliance"

    def ready(self):
        # The built-in care-link providers (encounters); other apps register theirs.
        from . import care_links  # noqa: F401
