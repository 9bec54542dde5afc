"""What the sharing side adds to the rare-case registry, through the registry's own
extension points (so the registry never imports this app):

* a panel on the registry's case page with the case's share decisions and shares;
* a related-data provider for step 8 (keeping a case alive): cases that partner
  platforms shared with us under the same ICD-10 code, or failing that the same
  category. External cases arrive de-identified, so their items carry nothing more
  than the partner, the code, the age band and the region."""

from apps.rarecases.panels import register_case_panel
from apps.rarecases.related import register_related_provider

from .models import ExternalRareCase
from .selectors import case_sharing

MAX_EXTERNAL_ITEMS = 10


def external_cases_like(case, feature: dict):
    from django.db.models import Q

    matches = Q(icd10_code=case.icd10_code)
    if case.category:
        matches |= Q(category=case.category)
    rows = (ExternalRareCase.objects.filter(matches).select_related("partner")
            .order_by("-received_at", "-id")[:MAX_EXTERNAL_ITEMS])
    for external in rows:
        yield {"kind": "external_case", "key": f"{external.partner_id}:{external.share_id}",
               "title": f"{external.icd10_code} {external.diagnosis_text}".strip(),
               "detail": {"partner": external.partner.name, "age_band": external.age_band,
                          "region": external.region, "same_code": external.icd10_code == case.icd10_code,
                          "received_at": external.received_at.isoformat()}}


def register() -> None:
    register_case_panel("partners.sharing", template="partners/case_sharing.html",
                        context=lambda case: {"sharing": case_sharing(case_id=case.pk), "case": case})
    register_related_provider("partners.external_cases")(external_cases_like)
