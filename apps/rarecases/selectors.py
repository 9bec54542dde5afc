"""Reads of the rare-case registry, scoped to the caller's hospital and role: the
hospital's own cases (identified, for its clinicians), the platform-wide
de-identified index (for staff of every hospital), access counts per period,
transmission paths, the catalogue and the runs."""

import uuid
from collections import defaultdict

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from apps.configuration.registry import registry
from apps.configuration.selectors import setting_value
from apps.core.exceptions import NotFoundError
from apps.tenancy.roles import Role
from apps.tenancy.selectors import TenantAccess

from .models import (AccessKind, AccessPeriod, CaseAccess, CaseFollow, RareCase, RareCaseIndexEntry,
                     RareDisease, RarityAnalysis, TrendRun)

# The hospital's own cases point at patients: its clinicians read them.
CLINICAL_ROLES = frozenset({Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN})
# The de-identified index is for staff who may learn from other hospitals' cases.
SEARCH_ROLES = CLINICAL_ROLES
ORDERINGS = {"incidence": ("incidence", "-created_at"), "-incidence": ("-incidence", "-created_at"),
             "recent": ("-created_at",), "rare_feature": ("-rare_feature", "incidence"),
             "prediction": ("-first_prediction_index", "incidence")}


SHARE_RANGE_KEYS = ("partners.share_index_low", "partners.share_index_high")


def prediction_range() -> tuple[float, float] | None:
    """The preset range [low, high] step 7 shares by, declared by the sharing app;
    None where it is not installed."""
    if any(registry.get(key) is None for key in SHARE_RANGE_KEYS):
        return None
    low, high = (float(setting_value(key)) for key in SHARE_RANGE_KEYS)
    return low, high


def rare_case_list_for(*, tenant: TenantAccess | None, code: str = "", category: str = "", status: str = "",
                       catalogue: bool | None = None, followed_by=None, q: str = "",
                       ordering: str = "incidence") -> QuerySet[RareCase]:
    if tenant is None or tenant.role not in CLINICAL_ROLES:
        return RareCase.objects.none()
    queryset = RareCase.objects.select_related("patient", "catalogue_entry")
    if code:
        queryset = queryset.filter(icd10_code__istartswith=code.strip())
    if category:
        queryset = queryset.filter(category=category)
    if status:
        queryset = queryset.filter(status=status)
    if catalogue is not None:
        queryset = queryset.filter(catalogue_entry__isnull=not catalogue)
    if followed_by is not None:
        queryset = queryset.filter(follows__user=followed_by)
    if q:
        queryset = queryset.filter(Q(diagnosis_text__icontains=q) | Q(icd10_code__istartswith=q))
    return queryset.order_by(*ORDERINGS.get(ordering, ORDERINGS["incidence"]), "id")


def rare_case_get_for(*, tenant: TenantAccess | None, case_id) -> RareCase:
    case = rare_case_list_for(tenant=tenant).filter(pk=case_id).first() if str(case_id).isdigit() else None
    if case is None:
        raise NotFoundError(_("No such rare case at this hospital."))
    return case


def index_search(*, tenant: TenantAccess | None, q: str = "", code: str = "", category: str = "",
                 catalogue: bool | None = None, sex: str = "", age_band: str = "",
                 ordering: str = "incidence") -> QuerySet[RareCaseIndexEntry]:
    """The de-identified index across hospitals; every term of `q` must match the
    entry's codes, diagnosis, entities, findings or catalogue name."""
    if tenant is None or tenant.role not in SEARCH_ROLES:
        return RareCaseIndexEntry.objects.none()
    queryset = RareCaseIndexEntry.objects.select_related("hospital", "catalogue_entry").filter(listed=True)
    for term in q.lower().split()[:8]:
        queryset = queryset.filter(search_text__contains=term)
    if code:
        queryset = queryset.filter(icd10_code__istartswith=code.strip())
    if category:
        queryset = queryset.filter(category=category)
    if catalogue is not None:
        queryset = queryset.filter(catalogue_entry__isnull=not catalogue)
    if sex:
        queryset = queryset.filter(sex=sex)
    if age_band:
        queryset = queryset.filter(age_band=age_band)
    orderings = {"incidence": ("incidence", "-created_at"), "recent": ("-created_at",),
                 "rare_feature": ("-rare_feature", "incidence")}
    return queryset.order_by(*orderings.get(ordering, orderings["incidence"]), "id")


def index_entry_get_for(*, tenant: TenantAccess | None, entry_id) -> RareCaseIndexEntry:
    try:
        entry = index_search(tenant=tenant).filter(pk=uuid.UUID(str(entry_id))).first()
    except ValueError:  # not a UUID
        entry = None
    if entry is None:
        raise NotFoundError(_("No such entry in the rare-case index."))
    return entry


def access_counts(*, entry_ids, period: AccessPeriod | None = None) -> dict:
    """{entry_id: {"views": n, "uses": n, kind: n, ...}} over `period` (all time without one)."""
    queryset = CaseAccess.objects.filter(entry_id__in=list(entry_ids))
    if period is not None:
        queryset = queryset.filter(occurred_at__gte=period.starts_at, occurred_at__lt=period.ends_at)
    counts: dict = defaultdict(lambda: {"views": 0, "uses": 0, **{kind: 0 for kind in AccessKind.values}})
    for entry_id, kind, n in queryset.values_list("entry_id", "kind").annotate(n=Count("id")):
        counts[entry_id][kind] += n
        counts[entry_id]["views" if kind == AccessKind.VIEW else "uses"] += n
    return dict(counts)


def access_history(*, entry: RareCaseIndexEntry, periods: int = 12) -> list[dict]:
    """Views and uses per first preset period, the latest `periods` periods."""
    rows = list(AccessPeriod.objects.order_by("-number")[:periods])[::-1]
    out = []
    for period in rows:
        counts = access_counts(entry_ids=[entry.pk], period=period).get(entry.pk, {})
        out.append({"number": period.number, "starts_at": period.starts_at, "ends_at": period.ends_at,
                    "length_days": round(period.length_days, 3), "views": counts.get("views", 0),
                    "uses": counts.get("uses", 0)})
    return out


def transmission_paths(*, entry: RareCaseIndexEntry, limit: int = 200) -> list[dict]:
    """Every access that came through another, as chains from the first access to
    the last: [{"steps": [{"kind", "actor", "hospital", "at"}, ...]}]."""
    accesses = {a.pk: a for a in CaseAccess.objects.filter(entry=entry).select_related("actor", "actor_hospital")
                .order_by("occurred_at")[:5000]}
    children = defaultdict(list)
    for access in accesses.values():
        if access.parent_id in accesses:
            children[access.parent_id].append(access)
    roots = [a for a in accesses.values() if a.parent_id not in accesses and children.get(a.pk)]

    def step(access):
        return {"id": str(access.pk), "kind": access.kind, "hospital": str(access.actor_hospital or ""),
                "actor": access.actor.get_username() if access.actor and access.actor_hospital_id == entry.hospital_id
                else "", "at": access.occurred_at}

    paths = []

    def walk(access, chain):
        chain = chain + [step(access)]
        if not children.get(access.pk) or len(chain) > 50:
            paths.append({"steps": chain})
            return
        for child in children[access.pk]:
            walk(child, chain)

    for root in roots:
        walk(root, [])
        if len(paths) >= limit:
            break
    return paths[:limit]


def followers_of(*, case: RareCase) -> list:
    return list(CaseFollow.objects.filter(case=case).select_related("user").order_by("created_at"))


def follower_ids(*, case_ids) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for case_id, user_id in CaseFollow.objects.filter(case_id__in=list(case_ids)).values_list("case_id", "user_id"):
        out[case_id].append(user_id)
    return dict(out)


def catalogue_search(*, q: str = "", source: str = "", with_icd10: bool = False) -> QuerySet[RareDisease]:
    queryset = RareDisease.objects.all()
    if q:
        queryset = queryset.filter(Q(name_zh__icontains=q) | Q(name_en__icontains=q) | Q(code__iexact=q))
    if source:
        queryset = queryset.filter(source=source)
    if with_icd10:
        queryset = queryset.exclude(icd10_codes=[])
    return queryset.order_by("source", "id")


def analyses_recent(*, limit: int = 20) -> list[RarityAnalysis]:
    return list(RarityAnalysis.objects.order_by("-started_at", "-id")[:limit])


def trend_runs_recent(*, limit: int = 20) -> list[TrendRun]:
    return list(TrendRun.objects.select_related("first_artifact", "second_artifact")
                .order_by("-started_at", "-id")[:limit])
