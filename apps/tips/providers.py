"""Recommendation signal providers: what a patient's own data says they should read.

A provider is a function `provider(patient) -> Iterable[tuple[str, str]]` returning
(tag, reason) pairs: a canonical tag from the medical dictionary (see tagging.py:
tags_for_icd10, tags_for_indicator, tags_for_drug) and the reason shown to the
patient, already translated ("because your record lists 2型糖尿病"). Register one with

    from apps.tips.providers import register_provider

    @register_provider("lab_abnormal")
    def lab_abnormal(patient):
        for code, flag in ...:  # the patient's abnormal indicators
            for tag in tags_for_indicator(code):
                yield tag, _("because your %(indicator)s reading was high") % {...}

Providers run inside the request's tenant context; they read through their own app's
selectors. A provider that fails is logged and skipped, never failing the page.
Docs: docs/tips.md.
"""

import logging
from collections.abc import Callable, Iterable

from django.utils.translation import gettext as _

from .tagging import tags_for_drug, tags_for_icd10, tags_in

logger = logging.getLogger(__name__)

Provider = Callable[[object], Iterable[tuple[str, str]]]
_PROVIDERS: dict[str, Provider] = {}


def register_provider(name: str):
    def decorator(function: Provider) -> Provider:
        _PROVIDERS[name] = function
        return function

    return decorator


def providers() -> dict[str, Provider]:
    return dict(_PROVIDERS)


def patient_signals(patient) -> dict[str, str]:
    """tag -> reason over every provider, the first provider's reason winning."""
    signals: dict[str, str] = {}
    for name, provider in _PROVIDERS.items():
        try:
            for tag, reason in provider(patient):
                signals.setdefault(tag, str(reason))
        except Exception:
            logger.exception("recommendation provider %s failed", name)
    return signals


@register_provider("diagnoses")
def diagnoses(patient) -> Iterable[tuple[str, str]]:
    from apps.patients.models import Diagnosis

    for diagnosis in Diagnosis.objects.filter(patient=patient).order_by("-diagnosed_at")[:50]:
        tags = tags_for_icd10(diagnosis.icd10_code) or [entry["tag"] for entry in tags_in(diagnosis.text)]
        for tag in tags:
            yield tag, _("because your record lists %(diagnosis)s") % {"diagnosis": diagnosis.text}


@register_provider("medication_plans")
def medication_plans(patient) -> Iterable[tuple[str, str]]:
    from apps.reminders.selectors import active_drug_names

    for drug in active_drug_names(patient_id=patient.pk):
        for tag in tags_for_drug(drug):
            yield tag, _("because you take %(drug)s") % {"drug": drug}
