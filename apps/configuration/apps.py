from django.apps import AppConfig


class ConfigurationConfig(AppConfig):
    name = "apps.configuration"
    label = "configuration"
    verbose_name = "Configuration"

    def ready(self):
        from django.utils.module_loading import autodiscover_modules

        # Each app declares its settings in <app>/declared_settings.py.
        autodiscover_modules("declared_settings")
        # Celery signal receivers, the worker heartbeat and the model-latency observer.
        from .monitoring import signals  # noqa: F401
