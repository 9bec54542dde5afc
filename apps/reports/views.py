"""The web admin's lab-report pages: the list with an upload form, and a report's page
with the photo, the items (H/L highlighted), the interpretation and the sign-off form.

Like the API, every read is audited and every change goes through a service; a refused
change comes back with the service's message and the error's HTTP status.
"""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.configuration.views import role_required
from apps.core.exceptions import DomainError, NotFoundError
from apps.patients.models import Patient
from apps.privacy.services import audit_record
from apps.tenancy.roles import Role

from .errors import failure_message
from .forms import SignOffForm, UploadForm
from .models import LabReport
from .selectors import CLINICAL_ROLES, lab_report_get_for, lab_report_list_for
from .services import lab_report_reprocess, lab_report_sign_off, lab_report_submit

PAGE_SIZE = 50


def _report_or_404(request, report_id) -> LabReport:
    try:
        return lab_report_get_for(user=request.user, tenant=request.tenant, report_id=report_id)
    except NotFoundError:
        audit_record(action="lab_report.read", actor=request.user, role=request.tenant.role, object_type="lab_report",
                     object_id=report_id, outcome="not_found")
        raise Http404 from None


def _list_context(request, form=None) -> dict:
    status = request.GET.get("status", "")
    reports = lab_report_list_for(user=request.user, tenant=request.tenant)
    if status in LabReport.Status.values:
        reports = reports.filter(status=status)
    page = list(reports[:PAGE_SIZE])
    audit_record(action="lab_report.list", actor=request.user, role=request.tenant.role, object_type="lab_report",
                 detail={"object_ids": [r.pk for r in page], "patient_ids": sorted({r.patient_id for r in page})})
    return {"reports": page, "statuses": LabReport.Status.choices, "status": status,
            "form": form or UploadForm(), "may_upload": request.tenant.role in CLINICAL_ROLES}


@require_GET
@role_required(*CLINICAL_ROLES)
def report_list(request):
    return render(request, "reports/list.html", _list_context(request))


@require_POST
@role_required(*CLINICAL_ROLES)
def report_upload(request):
    form = UploadForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        patient = Patient.objects.filter(medical_record_number=form.cleaned_data["medical_record_number"]).first()
        if patient is None:
            form.add_error("medical_record_number", _("No patient with this medical record number."))
        else:
            try:
                report = lab_report_submit(patient=patient, data=form.cleaned_data["file"].read(),
                                           actor=request.user, role=request.tenant.role)
            except DomainError as error:
                form.add_error("file", error.message)
                status = error.status_code
            else:
                messages.success(request, _("Report uploaded; the analysis has started."))
                return redirect("reports_web:detail", report_id=report.pk)
    return render(request, "reports/list.html", _list_context(request, form), status=status)


def _detail_context(request, report: LabReport, form=None) -> dict:
    items = list(report.items.all())
    interpretation = getattr(report, "interpretation", None)
    return {
        "report": report, "items": items, "interpretation": interpretation.content if interpretation else None,
        "urgency": interpretation.urgency if interpretation else "",
        "sign_off": getattr(report, "sign_off", None),
        "failure_message": failure_message(report.failure_code) if report.failure_code else "",
        "is_image": report.content_type.startswith("image/"),
        "may_sign": request.tenant.role == Role.DOCTOR and report.status == LabReport.Status.PRELIMINARY,
        "may_reprocess": report.status == LabReport.Status.FAILED,
        "form": form or (SignOffForm(items=items, interpretation=interpretation) if interpretation else None),
    }


@require_GET
@role_required(*CLINICAL_ROLES)
def report_detail(request, report_id):
    report = _report_or_404(request, report_id)
    audit_record(action="lab_report.read", actor=request.user, role=request.tenant.role, object_type="lab_report",
                 object_id=report.pk, patient_id=report.patient_id)
    return render(request, "reports/detail.html", _detail_context(request, report))


@require_GET
@role_required(*CLINICAL_ROLES)
def report_file(request, report_id):
    report = _report_or_404(request, report_id)
    audit_record(action="lab_report.file_read", actor=request.user, role=request.tenant.role,
                 object_type="lab_report", object_id=report.pk, patient_id=report.patient_id)
    return FileResponse(report.file.open("rb"), content_type=report.content_type)


@require_POST
@role_required(Role.DOCTOR)
def report_sign_off(request, report_id):
    report = _report_or_404(request, report_id)
    items = list(report.items.all())
    interpretation = getattr(report, "interpretation", None)
    form = SignOffForm(request.POST, items=items, interpretation=interpretation)
    if not form.is_valid():
        return render(request, "reports/detail.html", _detail_context(request, report, form), status=400)
    try:
        lab_report_sign_off(report_id=report.pk, actor=request.user, role=request.tenant.role, **form.edits())
    except DomainError as error:
        messages.error(request, error.message)
        return render(request, "reports/detail.html", _detail_context(request, report, form),
                      status=error.status_code)
    messages.success(request, _("Report signed off."))
    return redirect("reports_web:detail", report_id=report.pk)


@require_POST
@role_required(*CLINICAL_ROLES)
def report_reprocess(request, report_id):
    report = _report_or_404(request, report_id)
    try:
        lab_report_reprocess(report_id=report.pk, actor=request.user, role=request.tenant.role)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The report is queued for analysis again."))
    return redirect("reports_web:detail", report_id=report.pk)

