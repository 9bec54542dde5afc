"""The compliance officer's pages in the web admin: audit search and timelines,
CSV export with a signed manifest, manifest and chain verification, cases and the
monthly report. Views parse, call a service or selector, render; a refusal shows
the service's message with its HTTP status."""

import io
import json
import zipfile
from dataclasses import replace

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.configuration.views import role_required
from apps.core.exceptions import DomainError
from apps.privacy.models import AuditOutcome
from apps.privacy.services import audit_record
from apps.tenancy.models import Membership
from apps.tenancy.roles import Role

from . import cases as case_services
from .exports import audit_export_create, hospital_chains_verify, manifest_verify
from .models import ViolationCase
from .selectors import EventFilters, audit_events_search, case_get, cases_list, filters_from, monthly_report

officer_required = role_required(Role.COMPLIANCE_OFFICER)
PAGE_SIZE = 50
RULE_LABELS = {
    "no_care_relationship": _("No care relationship"), "bulk_access": _("Bulk reads or exports"),
    "outside_working_hours": _("Outside working hours"), "outside_department": _("Outside department"),
    "relative_or_neighbour": _("Same surname and address area"), "vip_record": _("VIP-sensitive record"),
    "failed_logins": _("Repeated failed logins"), "token_multi_country": _("Token used from several countries"),
    "access_after_revocation": _("Access after membership revoked"),
    "egress_without_consent": _("Data left without consent"),
    "egress_not_deidentified": _("Data left without de-identification"),
    "access_anomaly": _("Unusual access pattern (autoencoder)"),
}


def _who(request):
    return {"actor": request.user, "role": request.tenant.role}


def _events_page(request, *, filters: EventFilters, title: str, timeline: str = "", subject=""):
    status = 200
    try:
        filters = replace(filters_from(request.GET), **{k: v for k, v in filters.__dict__.items() if v})
        page = Paginator(audit_events_search(filters=filters), PAGE_SIZE).get_page(request.GET.get("page"))
    except DomainError as error:
        messages.error(request, error.message)
        filters, page, status = EventFilters(), None, 400
    if page is not None:
        audit_record(action="compliance.audit_events_searched", **_who(request), object_type=timeline,
                     object_id=subject, detail={"filters": filters.as_dict(), "shown": len(page.object_list)})
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "compliance/events.html", {
        "title": title, "page": page, "params": request.GET, "query": query.urlencode(), "timeline": timeline,
        "outcomes": AuditOutcome.choices}, status=status)


@require_GET
@officer_required
def events_page(request):
    return _events_page(request, filters=EventFilters(), title=_("Audit events"))


@require_GET
@officer_required
def patient_timeline_page(request, patient_id: int):
    return _events_page(request, filters=EventFilters(patient_id=patient_id),
                        title=_("Who saw patient %(id)s") % {"id": patient_id}, timeline="patient_timeline",
                        subject=patient_id)


@require_GET
@officer_required
def staff_timeline_page(request, user_id: int):
    return _events_page(request, filters=EventFilters(actor_id=user_id),
                        title=_("What staff member %(id)s did") % {"id": user_id}, timeline="staff_timeline",
                        subject=user_id)


@require_POST
@officer_required
def export_view(request):
    """A ZIP of events.csv and manifest.json (signed)."""
    try:
        content, export = audit_export_create(filters=filters_from(request.POST), **_who(request))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("compliance_web:events")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("events.csv", content)
        archive.writestr("manifest.json", json.dumps(export.manifest, ensure_ascii=False, indent=2))
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="audit-export-{export.pk}.zip"'
    return response


@require_http_methods(["GET", "POST"])
@officer_required
def manifest_verify_page(request):
    context, status = {}, 200
    if request.method == "POST":
        try:
            manifest = json.loads(request.FILES["manifest"].read().decode("utf-8")) if "manifest" in request.FILES \
                else None
            content = request.FILES["file"].read() if "file" in request.FILES else None
            context["report"] = manifest_verify(manifest=manifest, content=content, **_who(request))
        except (ValueError, UnicodeDecodeError):
            context["error"], context["code"], status = _("This is not an export manifest."), "manifest_malformed", 400
        except DomainError as error:
            context["error"], context["code"], status = error.message, error.code, error.status_code
    return render(request, "compliance/manifest_verify.html", context, status=status)


@require_http_methods(["GET", "POST"])
@officer_required
def chains_page(request):
    results = hospital_chains_verify(**_who(request)) if request.method == "POST" else None
    return render(request, "compliance/chains.html", {
        "results": results, "all_ok": results is not None and all(r["ok"] for r in results)})


@require_GET
@officer_required
def cases_page(request):
    status = request.GET.get("status", "")
    page = Paginator(cases_list(status=status if status in ViolationCase.Status.values else ""),
                     PAGE_SIZE).get_page(request.GET.get("page"))
    for case in page.object_list:
        case.rule_label = RULE_LABELS.get(case.rule, case.rule)
    return render(request, "compliance/cases.html", {"page": page, "status": status,
                                                     "statuses": ViolationCase.Status.choices})


@require_http_methods(["GET", "POST"])
@officer_required
def case_page(request, case_id: int):
    status = 200
    if request.method == "POST":
        action, who = request.POST.get("action", ""), _who(request)
        try:
            if action == "assign":
                case_services.case_assign(case_id=case_id, assignee_id=int(request.POST.get("assignee") or 0), **who)
            elif action == "investigate":
                case_services.case_start_investigation(case_id=case_id, **who)
            elif action == "resolve":
                case_services.case_resolve(case_id=case_id, resolution=request.POST.get("resolution", ""),
                                           note=request.POST.get("note", ""), **who)
            elif action == "note":
                case_services.case_note_add(case_id=case_id, text=request.POST.get("note", ""), **who)
            return redirect("compliance_web:case", case_id=case_id)
        except (DomainError, ValueError) as error:
            messages.error(request, getattr(error, "message", _("Some fields are invalid; correct them and try again.")))
            status = getattr(error, "status_code", 400)
    case = case_get(case_id=case_id)
    if case is None:
        return render(request, "compliance/case.html", {"case": None}, status=404)
    audit_record(action="compliance.case_read", **_who(request), object_type="violation_case", object_id=case.pk,
                 patient_id=case.patient_id)
    officers = Membership.objects.filter(hospital_id=request.tenant.hospital_id, role=Role.COMPLIANCE_OFFICER,
                                         active=True).select_related("user")
    return render(request, "compliance/case.html", {
        "case": case, "rule_label": RULE_LABELS.get(case.rule, case.rule), "officers": officers,
        "evidence": json.dumps(case.evidence, ensure_ascii=False, indent=2),
        "resolutions": ViolationCase.Resolution.choices}, status=status)


@require_GET
@officer_required
def report_page(request):
    month = request.GET.get("month") or timezone.localdate().strftime("%Y-%m")
    try:
        report, status = monthly_report(month=month), 200
    except DomainError as error:
        messages.error(request, error.message)
        report, status = None, 400
    if report:
        for row in report["by_rule"]:
            row["label"] = RULE_LABELS.get(row["rule"], row["rule"])
    return render(request, "compliance/report.html", {"report": report, "month": month}, status=status)
