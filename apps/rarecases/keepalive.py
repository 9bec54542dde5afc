"""Step 8: keeping a case alive. Every second preset period, a case's retrieval
feature is rebuilt (new findings), related data are retrieved by it through the
registered providers (related.py), stored on the case, and what is new is pushed
to the doctors who follow the case over /ws/v1/events/ (`rare_case.updated`).
`case_refreshed` tells other apps (partners: updates of shared cases) every time."""

import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.configuration.selectors import setting_value
from apps.privacy.services import audit_record
from apps.realtime.publish import publish

from .declared_settings import SECOND_PERIOD_DAYS
from .models import CaseFollow, RareCase
from .related import related_items
from .services import index_entry_upsert, retrieval_feature_build
from .signals import announce, case_kept_alive, case_refreshed

MAX_STORED_ITEMS = 100
DUE_BATCH = 200


def cases_due(*, now=None, limit: int = DUE_BATCH) -> list[int]:
    """Indexed cases of the current hospital whose second period has passed since
    their related data were last retrieved (or that never had them)."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=float(setting_value(SECOND_PERIOD_DAYS)))
    return list(RareCase.objects.filter(indexed_at__isnull=False).exclude(status=RareCase.Status.RETIRED)
                .filter(Q(kept_alive_at__isnull=True) | Q(kept_alive_at__lte=cutoff))
                .order_by("kept_alive_at", "pk").values_list("pk", flat=True)[:limit])


def case_keep_alive(*, case_id: int, actor=None, role: str = "") -> RareCase | None:
    """Refresh one case of the current hospital; None when there is no such case."""
    case = (RareCase.objects.select_related("patient", "diagnosis__encounter", "catalogue_entry")
            .filter(pk=case_id).first())
    if case is None:
        return None
    feature = retrieval_feature_build(case=case, structure=False)
    items = related_items(case, feature)
    now = timezone.now()
    with transaction.atomic():
        case = (RareCase.objects.select_for_update(of=("self",))
                .select_related("patient", "diagnosis", "catalogue_entry").get(pk=case_id))
        before = {(item["kind"], item["key"]): item for item in (case.related_data or {}).get("items", [])}
        new_items = []
        for item in items:
            known = before.get((item["kind"], item["key"]))
            item["first_seen"] = known["first_seen"] if known else now.isoformat()
            item["new"] = known is None
            if known is None:
                new_items.append(item)
        case.related_data = {"items": items[:MAX_STORED_ITEMS], "refreshed_at": now.isoformat(),
                             "new": len(new_items)}
        feature_changed = case.retrieval_feature != feature
        case.retrieval_feature = feature
        case.kept_alive_at = now
        case.save(update_fields=["related_data", "retrieval_feature", "kept_alive_at", "updated_at"])
        index_entry_upsert(case=case)
        audit_record(action="rarecases.case_keep_alive", actor=actor, role=role, hospital_id=case.hospital_id,
                     object_type="rare_case", object_id=case.pk, patient_id=case.patient_id,
                     detail={"items": len(items), "new": len(new_items),
                             "providers": sorted({item["provider"] for item in items})})
        followers = list(CaseFollow.objects.filter(case=case).values_list("user_id", flat=True))
        if new_items and followers:
            publish("rare_case.updated", {
                "id": case.pk, "icd10_code": case.icd10_code, "diagnosis": case.diagnosis_text,
                "refreshed_at": now.isoformat(),
                "new": [{"kind": item["kind"], "key": item["key"], "title": item["title"]} for item in new_items[:20]],
            }, user_ids=followers, hospital_id=case.hospital_id)
        if new_items:
            announce(case_kept_alive, case=case, new_items=new_items)
        announce(case_refreshed, case=case, feature_changed=feature_changed)
    return case
