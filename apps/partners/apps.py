from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "apps.partners"
    label = "partners"
    verbose_name = "Sharing partners"

    def ready(self):
        from apps.compliance.consent import consent_withdrawn
        from apps.rarecases.signals import case_refreshed, prediction_indexes_ready

        from . import registry_hooks
        from .receivers import (cancel_shares_on_consent_withdrawn, decide_on_prediction_indexes,
                                update_shares_on_case_refreshed)

        registry_hooks.register()

        prediction_indexes_ready.connect(decide_on_prediction_indexes, dispatch_uid="partners.decide_on_indexes")
        case_refreshed.connect(update_shares_on_case_refreshed, dispatch_uid="partners.update_on_refresh")
        consent_withdrawn.connect(cancel_shares_on_consent_withdrawn, dispatch_uid="partners.cancel_on_withdrawal")
