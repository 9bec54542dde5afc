"""The web admin's clinical NLP pages: searching stored entities and reading an
encounter's record with its entities highlighted. Reads are audited like the
API's (the record text is patient data)."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.configuration.views import role_required
from apps.core.exceptions import NotFoundError
from apps.privacy.models import AuditOutcome
from apps.privacy.services import audit_record

from .models import EntityLabel
from .selectors import CLINICAL_ROLES, encounter_with_entities, entity_search, highlight_segments

PAGE_SIZE = 50


@require_GET
@role_required(*CLINICAL_ROLES)
def entity_search_page(request):
    tenant = request.tenant
    label = request.GET.get("label", "")
    label = label if label in EntityLabel.values else ""
    q = request.GET.get("q", "").strip()[:100]
    page = Paginator(entity_search(tenant=tenant, label=label, q=q), PAGE_SIZE).get_page(request.GET.get("page"))
    audit_record(action="record_entity.list", actor=request.user, role=tenant.role, object_type="record_entity",
                 detail={"object_ids": [e.pk for e in page], "patient_ids": sorted({e.patient_id for e in page})})
    return render(request, "nlp/entities.html", {"page": page, "label": label, "q": q, "labels": EntityLabel.choices})


@require_GET
@role_required(*CLINICAL_ROLES)
def encounter_record_page(request, encounter_id: int):
    tenant = request.tenant
    try:
        encounter, entities, structuring = encounter_with_entities(tenant=tenant, encounter_id=encounter_id)
    except NotFoundError:
        audit_record(action="encounter.read", actor=request.user, role=tenant.role, object_type="encounter",
                     object_id=encounter_id, outcome=AuditOutcome.NOT_FOUND)
        raise Http404 from None
    audit_record(action="encounter.read", actor=request.user, role=tenant.role, object_type="encounter",
                 object_id=encounter.pk, patient_id=encounter.patient_id, detail={"view": "nlp.record"})
    counts = {code: 0 for code in EntityLabel.values}
    for entity in entities:
        counts[entity.label] += 1
    return render(request, "nlp/encounter_record.html", {
        "encounter": encounter, "structuring": structuring,
        "segments": highlight_segments(encounter.record_text, entities),
        "legend": [(code, name, counts[code]) for code, name in EntityLabel.choices],
    })
