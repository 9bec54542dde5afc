"""Encounters and diagnoses: staff record and list them, a patient reads their own.
Reads and refusals are audited by the mixin, writes by the services."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from apps.core.exceptions import NotFoundError
from apps.privacy.audit import AuditedViewMixin
from apps.tenancy.models import Department
from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import Role

from .models import Diagnosis, Encounter, Patient
from .selectors import diagnosis_list_for, encounter_list_for
from .services import diagnosis_add, encounter_create

READ_ROLES = (Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN, Role.PATIENT)
WRITE_ROLES = (Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN)


class DiagnosisOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Diagnosis
        fields = ["id", "encounter", "patient", "icd10_code", "text", "is_primary", "diagnosed_at"]


class EncounterOutputSerializer(serializers.ModelSerializer):
    attending = serializers.CharField(source="attending.get_username", default="", read_only=True)

    class Meta:
        model = Encounter
        fields = ["id", "patient", "kind", "department", "attending", "started_at", "ended_at", "record_text",
                  "created_at"]


class EncounterInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Encounter.Kind.choices, default=Encounter.Kind.OUTPATIENT)
    department = serializers.IntegerField(required=False, allow_null=True)
    started_at = serializers.DateTimeField(required=False)
    ended_at = serializers.DateTimeField(required=False, allow_null=True)
    record_text = serializers.CharField(required=False, allow_blank=True, max_length=100_000)

    def validate(self, attrs):
        started, ended = attrs.get("started_at"), attrs.get("ended_at")
        if started and ended and ended < started:
            raise serializers.ValidationError({"ended_at": [_("An encounter cannot end before it starts.")]})
        return attrs


class DiagnosisInputSerializer(serializers.Serializer):
    encounter = serializers.IntegerField()
    icd10_code = serializers.RegexField(r"^\s*[A-Za-z]\d{2}(\.\d{1,4})?\s*$", error_messages={
        "invalid": _("An ICD-10 code looks like E11 or E11.9.")})
    text = serializers.CharField(max_length=200)
    is_primary = serializers.BooleanField(default=False)
    diagnosed_at = serializers.DateTimeField(required=False)


def _tenant_object(model, pk, field: str):
    obj = model.objects.filter(pk=pk).first()  # scoped: another hospital's id is not found
    if obj is None:
        raise NotFoundError(str(_("No such record.")), fields={field: [str(_("No such record."))]})
    return obj


class _ClinicalRecordViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                             mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Staff record and read; a patient reads their own (the selectors scope)."""

    audit_patient_field = "patient_id"

    def get_permissions(self):
        roles = WRITE_ROLES if self.action == "create" else READ_ROLES
        return [HasTenantRole(*roles)()]


class EncounterViewSet(_ClinicalRecordViewSet):
    audit_object_type = "encounter"
    serializer_class = EncounterOutputSerializer
    filterset_fields = ["patient", "kind"]
    ordering_fields = ["started_at"]

    def get_queryset(self):
        return encounter_list_for(user=self.request.user, tenant=tenant_of(self.request))

    @extend_schema(request=EncounterInputSerializer, responses={201: EncounterOutputSerializer})
    def create(self, request, *args, **kwargs):
        tenant = tenant_of(request)
        data = EncounterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        patient = _tenant_object(Patient, values.pop("patient"), "patient")
        department_id = values.pop("department", None)
        department = _tenant_object(Department, department_id, "department") if department_id else None
        encounter = encounter_create(patient=patient, department=department, attending=request.user
                                     if tenant.role == Role.DOCTOR else None, actor=request.user, role=tenant.role,
                                     **values)
        return Response(EncounterOutputSerializer(encounter).data, status=201)


class DiagnosisViewSet(_ClinicalRecordViewSet):
    audit_object_type = "diagnosis"
    serializer_class = DiagnosisOutputSerializer
    filterset_fields = ["patient", "encounter", "icd10_code"]
    ordering_fields = ["diagnosed_at"]

    def get_queryset(self):
        return diagnosis_list_for(user=self.request.user, tenant=tenant_of(self.request))

    @extend_schema(request=DiagnosisInputSerializer, responses={201: DiagnosisOutputSerializer})
    def create(self, request, *args, **kwargs):
        tenant = tenant_of(request)
        data = DiagnosisInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        encounter = _tenant_object(Encounter, values.pop("encounter"), "encounter")
        diagnosis = diagnosis_add(encounter=encounter, actor=request.user, role=tenant.role, **values)
        return Response(DiagnosisOutputSerializer(diagnosis).data, status=201)
