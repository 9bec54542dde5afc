from django.apps import AppConfig


class RareCasesConfig(AppConfig):
    name = "apps.rarecases"
    label = "rarecases"
    verbose_name = "Rare-case registry"
