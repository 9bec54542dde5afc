"""The web admin's rare-case pages: the registry (this hospital's cases, rarest
first), a case (features, access per period, transmission paths, indexes,
followers, related data; follow / unfollow), the cross-hospital de-identified
search, and the runs (rarity analyses and trend-model runs; platform admins start
one). Reads are audited here as in the API; writes by the services."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.configuration.views import role_required
from apps.core.exceptions import DomainError, NotFoundError
from apps.privacy.models import AuditOutcome
from apps.privacy.services import audit_record
from apps.tenancy.roles import Role

from .icd10 import category_choices
from .models import AccessKind, RareCase, RareCaseIndexEntry
from .panels import case_panels_render
from .selectors import (CLINICAL_ROLES, SEARCH_ROLES, access_counts, access_history, analyses_recent, followers_of,
                        index_entry_get_for, index_search, prediction_range, rare_case_get_for, rare_case_list_for,
                        transmission_paths, trend_runs_recent)
from .services import case_access_record, case_follow, case_unfollow, index_access_record
from .tasks import queue_after_commit, rarity_analysis, trend_cycle

PAGE_SIZE = 50


def _flag(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


@never_cache
@require_GET
@role_required(*CLINICAL_ROLES)
def registry(request):
    tenant = request.tenant
    filters = {"code": request.GET.get("code", "").strip()[:10], "category": request.GET.get("category", ""),
               "status": request.GET.get("status", ""), "catalogue": request.GET.get("catalogue", ""),
               "followed": request.GET.get("followed", ""), "q": request.GET.get("q", "").strip()[:100],
               "ordering": request.GET.get("ordering", "incidence")}
    cases = rare_case_list_for(tenant=tenant, code=filters["code"], category=filters["category"],
                               status=filters["status"], catalogue=_flag(filters["catalogue"]),
                               followed_by=request.user if filters["followed"] == "yes" else None, q=filters["q"],
                               ordering=filters["ordering"])
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    audit_record(action="rare_case.list", actor=request.user, role=tenant.role, object_type="rare_case",
                 detail={"object_ids": [c.pk for c in page], "patient_ids": sorted({c.patient_id for c in page})})
    query = urlencode({key: value for key, value in filters.items() if value})
    return render(request, "rarecases/registry.html", {
        "page": page, "filters": filters, "query": query, "categories": category_choices(),
        "statuses": RareCase.Status.choices})


def _case_or_404(request, case_id: int) -> RareCase:
    try:
        return rare_case_get_for(tenant=request.tenant, case_id=case_id)
    except NotFoundError:
        audit_record(action="rare_case.read", actor=request.user, role=request.tenant.role, object_type="rare_case",
                     object_id=case_id, outcome=AuditOutcome.NOT_FOUND)
        raise Http404 from None


@never_cache
@require_GET
@role_required(*CLINICAL_ROLES)
def case_page(request, case_id: int):
    case = _case_or_404(request, case_id)
    tenant = request.tenant
    audit_record(action="rare_case.read", actor=request.user, role=tenant.role, object_type="rare_case",
                 object_id=case.pk, patient_id=case.patient_id)
    case_access_record(case=case, kind=AccessKind.VIEW, actor=request.user, channel="registry", role=tenant.role)
    entry = RareCaseIndexEntry.objects.filter(case_id=case.pk).first()
    followers = followers_of(case=case)
    preset = prediction_range()
    return render(request, "rarecases/case.html", {
        "case": case, "entry": entry, "feature": case.retrieval_feature or {},
        "totals": access_counts(entry_ids=[entry.pk]).get(entry.pk, {}) if entry else {},
        "history": access_history(entry=entry) if entry else [],
        "paths": transmission_paths(entry=entry, limit=50) if entry else [],
        "followers": followers, "following": any(f.user_id == request.user.pk for f in followers),
        "related": (case.related_data or {}).get("items", []), "preset": preset,
        "may_follow": tenant.role in (Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN),
        "panels": case_panels_render(case=case, request=request),
    })


@require_POST
@role_required(*CLINICAL_ROLES)
def case_follow_toggle(request, case_id: int):
    case = _case_or_404(request, case_id)
    try:
        if request.POST.get("follow") == "0":
            case_unfollow(case=case, user=request.user, role=request.tenant.role)
            messages.success(request, _("You no longer follow this case."))
        else:
            case_follow(case=case, user=request.user, role=request.tenant.role)
            messages.success(request, _("You follow this case: new related data will reach you."))
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("rarecases_web:case", case_id=case.pk)


@never_cache
@require_GET
@role_required(*SEARCH_ROLES)
def search(request):
    tenant = request.tenant
    filters = {"q": request.GET.get("q", "").strip()[:200], "code": request.GET.get("code", "").strip()[:10],
               "category": request.GET.get("category", ""), "catalogue": request.GET.get("catalogue", "")}
    entries = index_search(tenant=tenant, q=filters["q"], code=filters["code"], category=filters["category"],
                           catalogue=_flag(filters["catalogue"]))
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    audit_record(action="rare_case_index.list", actor=request.user, role=tenant.role, object_type="rare_case_index",
                 detail={"object_ids": [str(e.pk) for e in page], "q": filters["q"]})
    query = urlencode({key: value for key, value in filters.items() if value})
    return render(request, "rarecases/search.html", {"page": page, "filters": filters, "query": query,
                                                     "categories": category_choices()})


@never_cache
@require_GET
@role_required(*SEARCH_ROLES)
def entry_page(request, entry_id):
    tenant = request.tenant
    try:
        entry = index_entry_get_for(tenant=tenant, entry_id=entry_id)
    except NotFoundError:
        audit_record(action="rare_case_index.read", actor=request.user, role=tenant.role,
                     object_type="rare_case_index", object_id=entry_id, outcome=AuditOutcome.NOT_FOUND)
        raise Http404 from None
    try:
        access = index_access_record(entry=entry, kind=AccessKind.VIEW, actor=request.user, channel="search",
                                     parent=request.GET.get("via") or None, role=tenant.role)
    except DomainError:  # a stale or foreign `via` link: still a view, not through it
        access = index_access_record(entry=entry, kind=AccessKind.VIEW, actor=request.user, channel="search",
                                     role=tenant.role)
    return render(request, "rarecases/entry.html", {"entry": entry, "access": access})


@never_cache
@require_GET
@role_required(*CLINICAL_ROLES)
def runs(request):
    return render(request, "rarecases/runs.html", {"analyses": analyses_recent(), "trend_runs": trend_runs_recent(),
                                                   "may_start": request.tenant.role == Role.PLATFORM_ADMIN})


@require_POST
@role_required(Role.PLATFORM_ADMIN)
def run_start(request, kind: str):
    task = {"analysis": rarity_analysis, "trend": trend_cycle}.get(kind)
    if task is None:
        raise PermissionDenied
    queue_after_commit(task)
    messages.success(request, _("Started: the page shows the run when it finishes."))
    return redirect("rarecases_web:runs")
