"""Reads of stored entities, scoped to the caller's hospital and role."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from apps.core.exceptions import NotFoundError
from apps.patients.models import Encounter
from apps.tenancy.roles import Role
from apps.tenancy.selectors import TenantAccess

from .models import EncounterStructuring, RecordEntity

# Stored entities come from patients' records: the roles that read patient data.
CLINICAL_ROLES = frozenset({Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN})


def entity_search(*, tenant: TenantAccess | None, label: str = "", q: str = "", encounter_id: int | None = None,
                  patient_id: int | None = None) -> QuerySet[RecordEntity]:
    if tenant is None or tenant.role not in CLINICAL_ROLES:
        return RecordEntity.objects.none()
    queryset = RecordEntity.objects.select_related("encounter")
    if label:
        queryset = queryset.filter(label=label)
    if q:
        queryset = queryset.filter(text__icontains=q)
    if encounter_id is not None:
        queryset = queryset.filter(encounter_id=encounter_id)
    if patient_id is not None:
        queryset = queryset.filter(patient_id=patient_id)
    return queryset.order_by("-encounter__started_at", "encounter_id", "start")


def encounter_with_entities(*, tenant: TenantAccess | None, encounter_id: int):
    """The encounter (with its patient), its entities in text order and its
    structuring record; NotFoundError for other hospitals and other roles alike."""
    if tenant is None or tenant.role not in CLINICAL_ROLES:
        raise NotFoundError(_("No such encounter at this hospital."))
    encounter = Encounter.objects.select_related("patient").filter(pk=encounter_id).first()
    if encounter is None:
        raise NotFoundError(_("No such encounter at this hospital."))
    entities = list(RecordEntity.objects.filter(encounter_id=encounter_id).order_by("start"))
    structuring = EncounterStructuring.objects.filter(encounter_id=encounter_id).first()
    return encounter, entities, structuring


def highlight_segments(text: str, entities) -> list[tuple[str, object]]:
    """The text cut into (piece, entity or None) in order, for highlighting.
    Entities that overlap an earlier one or fall outside the text (the text was
    edited after structuring) are left out, so the pieces always rebuild the text."""
    pieces, at = [], 0
    for entity in sorted(entities, key=lambda e: (e.start, e.end)):
        if entity.start < at or entity.end > len(text):
            continue
        if entity.start > at:
            pieces.append((text[at : entity.start], None))
        pieces.append((text[entity.start : entity.end], entity))
        at = entity.end
    if at < len(text):
        pieces.append((text[at:], None))
    return pieces
