"""The web admin's partner pages: partners (list, page, register, edit, status, key),
the share log with approval, decisions, and the cases partners sent us.

Views parse, call a service or selector, render; every read of patient-linked rows is
audited, every change goes through a service, and a refusal comes back with the
service's message and HTTP status."""

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.configuration.views import role_required
from apps.core.exceptions import DomainError, NotFoundError
from apps.privacy.models import AuditOutcome
from apps.privacy.services import audit_record
from apps.tenancy.roles import STAFF_ROLES, Role

from . import services
from .api import OVERSIGHT, masked, reasons_explained
from .forms import PartnerEditForm, PartnerForm, ReviewForm, StatusForm
from .models import OutboundShare, ShareDecision, SharingPartner
from .selectors import (decision_get, decision_list, external_case_get, external_case_list, partner_get,
                        partner_list, partner_share_counts, platform_feature_tag, share_get, share_list)

PAGE_SIZE = 50
MANAGERS = (Role.PLATFORM_ADMIN, Role.HOSPITAL_ADMIN, Role.COMPLIANCE_OFFICER)


def _who(request) -> dict:
    return {"actor": request.user, "role": request.tenant.role}


def _not_found(request, action: str, object_type: str, object_id):
    audit_record(action=action, **_who(request), object_type=object_type, object_id=object_id,
                 outcome=AuditOutcome.NOT_FOUND)
    return render(request, "partners/not_found.html", status=404)


def _audited_page(request, queryset, *, object_type: str, patient_of=None):
    """One page of a list, and the audit event naming what it showed."""
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    detail = {"object_ids": [row.pk for row in page.object_list]}
    if patient_of is not None:
        detail["patient_ids"] = sorted({patient_of(row) for row in page.object_list})
    audit_record(action=f"{object_type}.list", **_who(request), object_type=object_type, detail=detail)
    return page


# --- partners ---------------------------------------------------------------------------------


@require_GET
@role_required(*MANAGERS)
def partner_list_page(request):
    status = request.GET.get("status", "")
    partners = list(partner_list(status=status if status in SharingPartner.Status.values else ""))
    counts = partner_share_counts(partner_ids=[p.pk for p in partners])
    rows = [{"partner": p, "shares": counts.get(p.pk, {})} for p in partners]
    return render(request, "partners/list.html", {
        "rows": rows, "statuses": SharingPartner.Status.choices, "status": status, "own_tag": platform_feature_tag(),
        "may_manage": request.tenant.role == Role.PLATFORM_ADMIN})


def _partner_context(request, partner, **extra) -> dict:
    shares = share_list(partner_id=partner.pk)[:20]
    return {"partner": partner, "our_id": masked(partner.our_id_at_partner),
            "counts": partner_share_counts(partner_ids=[partner.pk]).get(partner.pk, {}), "shares": shares,
            "external": external_case_list(partner_id=partner.pk)[:20], "statuses": SharingPartner.Status.choices,
            "may_manage": request.tenant.role == Role.PLATFORM_ADMIN, **extra}


@require_GET
@role_required(*MANAGERS)
def partner_page(request, partner_id: int):
    try:
        partner = partner_get(partner_id=partner_id)
    except NotFoundError:
        return _not_found(request, "partners.partner_read", "sharing_partner", partner_id)
    shares = _partner_context(request, partner)
    audit_record(action="partners.partner_read", **_who(request), object_type="sharing_partner", object_id=partner.pk,
                 detail={"share_ids": [s.pk for s in shares["shares"]]})
    return render(request, "partners/partner.html", shares)


def _show_key_once(request, key: str):
    messages.success(request, _("Hand this signing key to the partner now; it is not shown again: %(key)s")
                     % {"key": key})


@require_http_methods(["GET", "POST"])
@role_required(Role.PLATFORM_ADMIN)
def partner_create_page(request):
    form = PartnerForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = services.partner_create(
                    name=data["name"], code=data["code"], endpoint_url=data["endpoint_url"],
                    our_id_at_partner=data["our_id_at_partner"], research_focus=data["research_focus"],
                    data_categories=data["data_categories"], protocols=data["protocols"],
                    interconnected=data["interconnected"], hmac_key=data["hmac_key"], **_who(request))
            except DomainError as error:
                form.add_error(None, error.message)
                status = error.status_code
            else:
                _show_key_once(request, created.key)
                return redirect("partners_web:partner", partner_id=created.partner.pk)
    return render(request, "partners/form.html", {"form": form, "title": _("Register a partner")}, status=status)


@require_http_methods(["GET", "POST"])
@role_required(Role.PLATFORM_ADMIN)
def partner_edit_page(request, partner_id: int):
    try:
        partner = partner_get(partner_id=partner_id)
    except NotFoundError:
        return _not_found(request, "partners.partner_read", "sharing_partner", partner_id)
    initial = {"name": partner.name, "endpoint_url": partner.endpoint_url,
               "research_focus": ", ".join(partner.research_focus), "data_categories": partner.data_categories,
               "protocols": ", ".join((partner.communication or {}).get("protocols", [])),
               "interconnected": partner.interconnected}
    form = PartnerEditForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.partner_update(partner_id=partner.pk, name=data["name"], endpoint_url=data["endpoint_url"],
                                        our_id_at_partner=data["our_id_at_partner"] or None,
                                        research_focus=data["research_focus"], data_categories=data["data_categories"],
                                        protocols=data["protocols"], interconnected=data["interconnected"],
                                        **_who(request))
            except DomainError as error:
                form.add_error(None, error.message)
                status = error.status_code
            else:
                messages.success(request, _("Partner updated."))
                return redirect("partners_web:partner", partner_id=partner.pk)
    return render(request, "partners/form.html", {"form": form, "partner": partner,
                                                  "title": _("Edit %(name)s") % {"name": partner.name}}, status=status)


@require_POST
@role_required(Role.PLATFORM_ADMIN)
def partner_status_page(request, partner_id: int):
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
        return redirect("partners_web:partner", partner_id=partner_id)
    try:
        services.partner_set_status(partner_id=partner_id, status=form.cleaned_data["status"],
                                    note=form.cleaned_data["note"], **_who(request))
    except NotFoundError:
        return _not_found(request, "partners.partner_status", "sharing_partner", partner_id)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Status changed."))
    return redirect("partners_web:partner", partner_id=partner_id)


@require_POST
@role_required(Role.PLATFORM_ADMIN)
def partner_rotate_key_page(request, partner_id: int):
    try:
        rotated = services.partner_rotate_key(partner_id=partner_id, **_who(request))
    except NotFoundError:
        return _not_found(request, "partners.partner_key_rotate", "sharing_partner", partner_id)
    _show_key_once(request, rotated.key)
    return redirect("partners_web:partner", partner_id=partner_id)


# --- share log, shares, decisions ------------------------------------------------------------------


@require_GET
@role_required(*OVERSIGHT)
def share_log_page(request):
    status = request.GET.get("status", "")
    partner = request.GET.get("partner", "")
    shares = share_list(status=status if status in OutboundShare.Status.values else "",
                        partner_id=int(partner) if partner.isdigit() else None)
    page = _audited_page(request, shares, object_type="outbound_share", patient_of=lambda share: share.patient_id)
    return render(request, "partners/shares.html", {
        "page": page, "statuses": OutboundShare.Status.choices, "status": status, "partner": partner,
        "partners": partner_list(), "may_review": request.tenant.role == Role.COMPLIANCE_OFFICER})


def _share_page(request, share, *, status=200):
    audit_record(action="outbound_share.read", **_who(request), object_type="outbound_share", object_id=share.pk,
                 patient_id=share.patient_id)
    payload = json.dumps(share.payload_json, ensure_ascii=False, indent=2) if share.payload else ""
    return render(request, "partners/share.html", {
        "share": share, "payload": payload, "attempts": share.attempt_log.all(), "form": ReviewForm(),
        "may_review": request.tenant.role == Role.COMPLIANCE_OFFICER
        and share.status == OutboundShare.Status.AWAITING_APPROVAL}, status=status)


@require_GET
@role_required(*OVERSIGHT)
def share_page(request, share_id: int):
    try:
        share = share_get(share_pk=share_id)
    except NotFoundError:
        return _not_found(request, "outbound_share.read", "outbound_share", share_id)
    return _share_page(request, share)


@require_POST
@role_required(Role.COMPLIANCE_OFFICER)
def share_review_page(request, share_id: int, verdict: str):
    try:
        share_get(share_pk=share_id)
    except NotFoundError:
        return _not_found(request, f"outbound_share.{verdict}", "outbound_share", share_id)
    form = ReviewForm(request.POST)
    form.is_valid()
    service = services.share_approve if verdict == "approve" else services.share_reject
    try:
        service(share_pk=share_id, note=form.cleaned_data.get("note", ""), **_who(request))
    except DomainError as error:
        messages.error(request, error.message)
        return _share_page(request, share_get(share_pk=share_id), status=error.status_code)
    messages.success(request, _("Share approved and queued.") if verdict == "approve" else _("Share rejected."))
    return redirect("partners_web:share", share_id=share_id)


@require_GET
@role_required(*OVERSIGHT)
def decision_list_page(request):
    outcome = request.GET.get("outcome", "")
    case = request.GET.get("case", "")
    decisions = decision_list(outcome=outcome if outcome in ShareDecision.Outcome.values else "",
                              case_id=int(case) if case.isdigit() else None)
    page = _audited_page(request, decisions, object_type="share_decision",
                         patient_of=lambda decision: decision.case.patient_id)
    return render(request, "partners/decisions.html", {
        "page": page, "outcomes": ShareDecision.Outcome.choices, "outcome": outcome, "case": case})


@require_GET
@role_required(*OVERSIGHT)
def decision_page(request, decision_id: int):
    try:
        decision = decision_get(decision_id=decision_id)
    except NotFoundError:
        return _not_found(request, "share_decision.read", "share_decision", decision_id)
    audit_record(action="share_decision.read", **_who(request), object_type="share_decision", object_id=decision.pk,
                 patient_id=decision.case.patient_id)
    return render(request, "partners/decision.html", {
        "decision": decision, "reasons": reasons_explained(decision.reasons),
        "inputs": json.dumps(decision.inputs, ensure_ascii=False, indent=2)})


@require_POST
@role_required(*OVERSIGHT)
def case_decide_page(request, case_id: int):
    try:
        decision = services.rare_case_share_decide(case_id=case_id, trigger=ShareDecision.Trigger.MANUAL,
                                                   **_who(request))
    except NotFoundError:
        return _not_found(request, "partners.share_decided", "rare_case", case_id)
    messages.success(request, _("Decided: %(outcome)s") % {"outcome": decision.get_outcome_display()})
    return redirect("partners_web:decision", decision_id=decision.pk)


# --- cases partners sent us -------------------------------------------------------------------------


@require_GET
@role_required(*STAFF_ROLES)
def external_list_page(request):
    prefix = request.GET.get("icd10", "")[:10]
    page = _audited_page(request, external_case_list(icd10_prefix=prefix), object_type="external_rare_case")
    return render(request, "partners/external_list.html", {"page": page, "icd10": prefix})


@require_GET
@role_required(*STAFF_ROLES)
def external_page(request, case_id: int):
    try:
        case = external_case_get(case_id=case_id)
    except NotFoundError:
        return _not_found(request, "external_rare_case.read", "external_rare_case", case_id)
    audit_record(action="external_rare_case.read", **_who(request), object_type="external_rare_case",
                 object_id=case.pk)
    return render(request, "partners/external.html", {
        "case": case, "bundle": json.dumps(case.bundle, ensure_ascii=False, indent=2)})
