"""The web admin's imaging pages: the study list with an upload form, and the viewer
(canvas with window/level, zoom, boxes and the heatmap overlay) with the review form.
Reads are audited here; writes by the services they call."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from apps.configuration.selectors import setting_value
from apps.configuration.views import role_required
from apps.core.exceptions import DomainError
from apps.patients.selectors import patient_list_for
from apps.privacy.services import audit_record
from apps.tenancy.roles import Role

from .declared_settings import SIMILAR_STUDIES
from .models import Finding, ImagingStudy
from .selectors import imaging_study_list_for, similar_studies
from .services import imaging_study_review, imaging_study_upload

VIEWER_ROLES = (Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN)
LIST_SHOWN = 100


def _study_or_404(request, study_id: int) -> ImagingStudy:
    study = imaging_study_list_for(user=request.user, tenant=request.tenant).filter(pk=study_id).first()
    if study is None:
        audit_record(action="imaging_study.read", actor=request.user, role=request.tenant.role,
                     object_type="imaging_study", object_id=study_id, outcome="not_found")
        raise Http404
    return study


@never_cache
@require_http_methods(["GET", "POST"])
@role_required(*VIEWER_ROLES)
def study_list(request):
    tenant = request.tenant
    status = 200
    if request.method == "POST":
        if tenant.role not in (Role.DOCTOR, Role.HOSPITAL_ADMIN):
            raise PermissionDenied
        patient = patient_list_for(user=request.user, tenant=tenant).filter(
            pk=request.POST.get("patient") or 0).first()
        upload = request.FILES.get("file")
        if patient is None or upload is None:
            messages.error(request, _("Choose a patient and a file."))
            status = 400
        else:
            try:
                study = imaging_study_upload(hospital_id=tenant.hospital_id, patient=patient, data=upload.read(),
                                             filename=upload.name or "", actor=request.user, role=tenant.role)
            except DomainError as error:
                messages.error(request, error.message)
                status = error.status_code
            else:
                return redirect("imaging_web:viewer", study_id=study.pk)
    studies = list(imaging_study_list_for(user=request.user, tenant=tenant)[:LIST_SHOWN])
    audit_record(action="imaging_study.list", actor=request.user, role=tenant.role, object_type="imaging_study",
                 detail={"ids": [s.pk for s in studies]})
    patients = patient_list_for(user=request.user, tenant=tenant).only("id", "name", "medical_record_number")[:500]
    return render(request, "imaging/study_list.html", {"studies": studies, "patients": patients,
                                                       "may_upload": tenant.role != Role.PLATFORM_ADMIN},
                  status=status)


@never_cache
@require_http_methods(["GET"])
@role_required(*VIEWER_ROLES)
def viewer(request, study_id: int):
    study = _study_or_404(request, study_id)
    audit_record(action="imaging_study.read", actor=request.user, role=request.tenant.role,
                 object_type="imaging_study", object_id=study.pk, patient_id=study.patient_id)
    findings = list(study.findings.all())
    return render(request, "imaging/viewer.html", {
        "study": study, "findings": findings,
        "boxes": [{"id": f.pk, "label": f.label, "box": f.box, "confidence": f.confidence, "verdict": f.verdict}
                  for f in findings],
        "similar": similar_studies(study=study, limit=int(setting_value(SIMILAR_STUDIES))),
        "may_review": request.tenant.role == Role.DOCTOR and study.status == ImagingStudy.Status.PRELIMINARY,
        "flagged": (study.lesion_probability is not None and study.lesion_threshold is not None
                    and study.lesion_probability >= study.lesion_threshold),
    })


@require_POST
@role_required(Role.DOCTOR)
def review(request, study_id: int):
    """The form sends one verdict (and reason) per pending finding, and the decision."""
    study = _study_or_404(request, study_id)
    decision = request.POST.get("decision", "")
    verdicts = []
    for finding in study.findings.filter(verdict=Finding.Verdict.PENDING):
        verdicts.append({"id": finding.pk, "verdict": request.POST.get(f"verdict-{finding.pk}", ""),
                         "reason": request.POST.get(f"reason-{finding.pk}", "")})
    try:
        imaging_study_review(study=study, reviewer=request.user, role=request.tenant.role, decision=decision,
                             comment=request.POST.get("comment", ""), verdicts=verdicts)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Review saved."))
    return redirect("imaging_web:viewer", study_id=study.pk)
