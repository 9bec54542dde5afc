"""Providers of related data for step 8 (keeping a case alive).

A provider is `provider(case, feature) -> Iterable[dict]`: given a RareCase of the
current hospital and its retrieval feature, it yields items

    {"kind": "similar_case", "key": "<stable id>", "title": "<one line>", "detail": {...}}

with a key that stays the same across runs (so the case knows what is new). The
built-in ones find similar cases on this platform (the de-identified index), the
catalogue entries and the knowledge-graph entries. Other apps add theirs:

    from apps.rarecases.related import register_related_provider

    @register_related_provider("external_cases")
    def external_cases(case, feature):
        for external in ...:  # partner platforms' cases with the same code
            yield {"kind": "external_case", "key": str(external.pk), "title": ..., "detail": {...}}

Providers run in the case's hospital's tenant context; one that fails is logged and
skipped, never failing the others. Items must be JSON-serialisable and hold no
direct identifiers: they are stored on the case and pushed to its followers.
"""

import logging
from collections.abc import Callable, Iterable

from django.db.models import Q

from .knowledge import knowledge_graph
from .models import RareCase, RareCaseIndexEntry, RareDisease

logger = logging.getLogger(__name__)

Provider = Callable[[RareCase, dict], Iterable[dict]]
_PROVIDERS: dict[str, Provider] = {}
MAX_ITEMS_PER_PROVIDER = 10


def register_related_provider(name: str):
    def decorator(function: Provider) -> Provider:
        _PROVIDERS[name] = function
        return function

    return decorator


def related_providers() -> dict[str, Provider]:
    return dict(_PROVIDERS)


def related_items(case: RareCase, feature: dict) -> list[dict]:
    items = []
    for name, provider in _PROVIDERS.items():
        try:
            found = list(provider(case, feature))[:MAX_ITEMS_PER_PROVIDER]
        except Exception:
            logger.exception("related-data provider %s failed for rare case %s", name, case.pk)
            continue
        for item in found:
            if isinstance(item, dict) and item.get("kind") and item.get("key") is not None:
                items.append({**item, "key": str(item["key"]), "provider": name})
    return items


def _entity_texts(feature: dict, *labels) -> set[str]:
    entities = feature.get("entities") or {}
    return {text for label in (labels or entities.keys()) for text in entities.get(label, [])}


@register_related_provider("similar_cases")
def similar_cases(case: RareCase, feature: dict) -> Iterable[dict]:
    """Other cases on the platform (de-identified) with the same code, or in the same
    category sharing clinical entities; most shared entities first."""
    mine = _entity_texts(feature)
    candidates = (RareCaseIndexEntry.objects.select_related("hospital")
                  .filter(Q(icd10_code=case.icd10_code) | Q(category=case.category, category__gt=""))
                  .exclude(case_id=case.pk).filter(listed=True)
                  .order_by("-created_at")[:300])
    scored = []
    for entry in candidates:
        theirs = {text for texts in (entry.entities or {}).values() for text in texts}
        shared = sorted(mine & theirs)
        same_code = entry.icd10_code == case.icd10_code
        if not same_code and not shared:
            continue
        scored.append((same_code, len(shared), entry, shared))
    scored.sort(key=lambda row: (row[0], row[1]), reverse=True)
    for same_code, _n, entry, shared in scored[:MAX_ITEMS_PER_PROVIDER]:
        yield {"kind": "similar_case", "key": str(entry.pk),
               "title": f"{entry.icd10_code} {entry.diagnosis_text} · {entry.hospital.name}",
               "detail": {"same_code": same_code, "shared_entities": shared[:10], "age_band": entry.age_band,
                          "sex": entry.sex, "region": entry.region, "month": entry.diagnosed_month,
                          "same_hospital": entry.hospital_id == case.hospital_id}}


@register_related_provider("catalogue")
def catalogue_matches(case: RareCase, feature: dict) -> Iterable[dict]:
    """Catalogue entries with the case's codes, or named like its diagnoses."""
    codes = set(feature.get("codes") or [case.icd10_code])
    names = {case.diagnosis_text, *_entity_texts(feature, "DIS")}
    by_name = RareDisease.objects.filter(Q(name_zh__in=names) | Q(pk=case.catalogue_entry_id or 0))
    by_code = [d for d in RareDisease.objects.exclude(icd10_codes=[]).only("id", "source", "code", "name_zh",
                                                                          "name_en", "icd10_codes")
               if codes & set(d.icd10_codes) or any(code[:3] in d.icd10_codes for code in codes)]
    seen = set()
    for disease in [*by_name, *by_code]:
        if disease.pk in seen:
            continue
        seen.add(disease.pk)
        yield {"kind": "catalogue", "key": f"{disease.source}:{disease.code}",
               "title": f"{disease.name_zh or disease.name_en} ({disease.code})",
               "detail": {"source": disease.source, "code": disease.code, "name_en": disease.name_en,
                          "icd10_codes": disease.icd10_codes}}


@register_related_provider("knowledge_graph")
def knowledge_entries(case: RareCase, feature: dict) -> Iterable[dict]:
    """PyCMeKG entries for the case's codes and disease names: symptoms,
    departments, complications, examinations, treatments."""
    graph = knowledge_graph()
    if graph is None:
        return
    names = [case.diagnosis_text, *sorted(_entity_texts(feature, "DIS"))]
    for entry in graph.related(codes=feature.get("codes") or [case.icd10_code], names=names,
                               limit=MAX_ITEMS_PER_PROVIDER):
        yield {"kind": "knowledge", "key": entry.subject, "title": entry.subject,
               "detail": {predicate: values[:12] for predicate, values in entry.facts.items()}}
