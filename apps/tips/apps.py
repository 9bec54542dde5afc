from django.apps import AppConfig


class TipsConfig(AppConfig):
    name = "apps.tips"
    label = "tips"
    verbose_name = "Health tips"

    def ready(self):
        # The built-in recommendation signal providers register themselves on import.
        from . import providers  # noqa: F401
