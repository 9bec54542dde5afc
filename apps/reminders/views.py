"""Web admin pages for medication reminders: the hospital's adherence overview and a
patient's plans (clinicians add and end plans there). Reads of a patient's plans are
audited here; writes by the services."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.configuration.views import role_required
from apps.core.exceptions import DomainError
from apps.patients.models import Patient
from apps.privacy.services import audit_record

from . import selectors, services
from .forms import PlanForm
from .models import MedicationPlan

CLINICAL = selectors.CLINICAL_ROLES


@require_http_methods(["GET"])
@role_required(*CLINICAL)
def adherence_page(request):
    """Active plans of the hospital, lowest adherence first, and a patient lookup."""
    query = request.GET.get("mrn", "").strip()
    if query:
        patient = Patient.objects.filter(medical_record_number__iexact=query).first()
        if patient is not None:
            return redirect("reminders_web:patient", patient_id=patient.pk)
        messages.error(request, _("No patient with that medical record number."))
    rows = selectors.adherence_overview()
    audit_record(action="medication_plan.overview_read", actor=request.user, role=request.tenant.role,
                 object_type="medication_plan",
                 detail={"patient_ids": sorted({row["plan"].patient_id for row in rows})})
    return render(request, "reminders/adherence.html", {"rows": rows, "mrn": query})


@require_http_methods(["GET", "POST"])
@role_required(*CLINICAL)
def patient_plans(request, patient_id: int):
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        raise Http404
    status = 200
    form = PlanForm(request.POST or None)
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                plan = services.plan_create(patient=patient, actor=request.user, role=request.tenant.role,
                                            **form.service_arguments())
            except DomainError as error:
                form.add_service_error(error)
                status = error.status_code
            else:
                messages.success(request, _("Plan for %(drug)s saved.") % {"drug": plan.drug_name})
                return redirect("reminders_web:patient", patient_id=patient.pk)
    plans = list(selectors.adherence_counts(MedicationPlan.objects.filter(patient=patient)))
    for plan in plans:
        plan.rate = selectors.adherence_rate(taken=plan.taken, taken_late=plan.taken_late, skipped=plan.skipped,
                                             missed=plan.missed)
        plan.days_left = services.supply_days_left(plan)
    audit_record(action="medication_plan.list", actor=request.user, role=request.tenant.role,
                 object_type="medication_plan", patient_id=patient.pk, detail={"object_ids": [p.pk for p in plans]})
    return render(request, "reminders/patient_plans.html", {"patient": patient, "plans": plans, "form": form},
                  status=status)


@require_POST
@role_required(*CLINICAL)
def plan_end(request, plan_id: int):
    plan = MedicationPlan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise Http404
    services.plan_update(plan=plan, actor=request.user, role=request.tenant.role, active=False)
    messages.success(request, _("Plan for %(drug)s ended.") % {"drug": plan.drug_name})
    return redirect("reminders_web:patient", patient_id=plan.patient_id)
