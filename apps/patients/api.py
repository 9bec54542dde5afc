from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from apps.privacy.audit import AuditedViewMixin
from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import Role

from .models import Patient
from .selectors import patient_list_for
from .services import patient_create


def mask_identifier(value: str, keep: int = 4) -> str:
    """Lists show identifiers masked; the full value is for the detail view."""
    if not value:
        return ""
    return "*" * max(len(value) - keep, 0) + value[-keep:]


class PatientOutputSerializer(serializers.ModelSerializer):
    national_id = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = ["id", "medical_record_number", "name", "sex", "birth_date", "national_id", "phone", "created_at"]

    def get_national_id(self, patient) -> str:
        return mask_identifier(patient.national_id)

    def get_phone(self, patient) -> str:
        return mask_identifier(patient.phone)


class PatientDetailSerializer(serializers.ModelSerializer):
    """One patient, identifiers in full: the read that shows them is audited."""

    class Meta:
        model = Patient
        fields = ["id", "medical_record_number", "name", "sex", "birth_date", "national_id", "phone", "created_at"]


class PatientInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    sex = serializers.ChoiceField(choices=Patient.Sex.choices, default=Patient.Sex.UNKNOWN)
    birth_date = serializers.DateField(required=False, allow_null=True)
    national_id = serializers.RegexField(r"^\d{17}[\dXx]$", required=False, allow_blank=True,
                                         error_messages={"invalid": _("A national ID number has 18 characters.")})
    phone = serializers.RegexField(r"^\+?\d{6,15}$", required=False, allow_blank=True)


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("national_id", str, description="Exact national ID (blind index)")]),
)
class PatientViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Patients of the current hospital. Every read and write is audited."""

    audit_object_type = "patient"
    audit_patient_field = "pk"
    permission_classes = [HasTenantRole(Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN, Role.PATIENT)]
    serializer_class = PatientOutputSerializer
    ordering_fields = ["created_at", "name"]
    filterset_fields = ["sex"]

    def get_queryset(self):
        return patient_list_for(user=self.request.user, tenant=tenant_of(self.request),
                                national_id=self.request.query_params.get("national_id"))

    def get_serializer_class(self):
        return {"create": PatientInputSerializer, "retrieve": PatientDetailSerializer}.get(
            self.action, PatientOutputSerializer)

    @extend_schema(request=PatientInputSerializer, responses={201: PatientOutputSerializer})
    def create(self, request, *args, **kwargs):
        tenant = tenant_of(request)
        if tenant.role == Role.PATIENT:
            raise PermissionDenied(_("Patients cannot register other patients."))
        data = PatientInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = patient_create(hospital_id=tenant.hospital_id, actor=request.user, role=tenant.role,
                                 **data.validated_data)
        return Response(PatientOutputSerializer(patient).data, status=201)
