from django.apps import AppConfig


class NlpConfig(AppConfig):
    name = "apps.nlp"
    label = "nlp"
    verbose_name = "Clinical NLP"

    def ready(self):
        from apps.patients.signals import encounter_recorded

        from . import ner  # noqa: F401  (declares the "ner" algorithm task and its model loader)
        from .receivers import structure_recorded_encounter

        encounter_recorded.connect(structure_recorded_encounter, dispatch_uid="nlp.structure_recorded_encounter")
