from django.conf import settings
from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from apps.core.exceptions import DomainError, NotFoundError
from apps.patients.models import Patient
from apps.privacy.audit import AuditedViewMixin
from apps.privacy.services import audit_record
from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import Role

from .errors import UploadRefused
from .selectors import CLINICAL_ROLES, UPLOAD_ROLES, lab_report_list_for, own_patient_record, \
    report_content_visible_to_patient
from .serializers import LabReportDetailSerializer, LabReportListSerializer, LabReportUploadSerializer, \
    SignOffInputSerializer
from .services import lab_report_reprocess, lab_report_sign_off, lab_report_submit

# Multipart framing around the file; a body longer than the limit plus this is refused unread.
_MULTIPART_OVERHEAD = 64 * 1024


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django's own parsing answers a malformed length


class LabReportViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Lab reports: staff see the hospital's, a patient their own (results once visible).
    Every read and refusal is audited by the mixin; writes by the services."""

    audit_object_type = "lab_report"
    audit_patient_field = "patient_id"
    permission_classes = [HasTenantRole(*UPLOAD_ROLES)]
    serializer_class = LabReportListSerializer
    ordering_fields = ["created_at", "status"]
    filterset_fields = ["status", "patient"]

    def get_queryset(self):
        return lab_report_list_for(user=self.request.user, tenant=tenant_of(self.request))

    def get_serializer_class(self):
        return LabReportDetailSerializer if self.action == "retrieve" else LabReportListSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "hide_content": False}

    def retrieve(self, request, *args, **kwargs):
        report = self.get_object()
        hide = tenant_of(request).role == Role.PATIENT and not report_content_visible_to_patient(report)
        return Response(LabReportDetailSerializer(report, context={"hide_content": hide}).data)

    @extend_schema(request={"multipart/form-data": LabReportUploadSerializer},
                   responses={201: LabReportDetailSerializer, 400: OpenApiResponse(description="corrupt_image, "
                              "corrupt_pdf, empty_page, invalid"), 413: OpenApiResponse(description="file_too_large, "
                              "too_many_pixels"), 415: OpenApiResponse(description="not_an_image")})
    def create(self, request, *args, **kwargs):
        tenant = tenant_of(request)
        if _declared_length(request) > settings.LAB_REPORT_MAX_UPLOAD_BYTES + _MULTIPART_OVERHEAD:
            raise UploadRefused("file_too_large")  # refused before the body is read
        data = LabReportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = self._patient_for_upload(tenant, data.validated_data.get("patient"))
        upload = data.validated_data["file"]
        if upload.size > settings.LAB_REPORT_MAX_UPLOAD_BYTES:
            raise UploadRefused("file_too_large")
        report = lab_report_submit(patient=patient, data=upload.read(), actor=request.user, role=tenant.role)
        return Response(LabReportDetailSerializer(report, context={"hide_content": True}).data, status=201)

    def _patient_for_upload(self, tenant, patient_id) -> Patient:
        if tenant.role == Role.PATIENT:
            own = own_patient_record(user=self.request.user)
            if own is None or (patient_id is not None and patient_id != own.pk):
                raise PermissionDenied(_("Patients upload reports for their own record only."))
            return own
        if patient_id is None:
            raise DomainError(_("Say which patient the report belongs to."), code="invalid",
                              fields={"patient": [_("This field is required.")]})
        patient = Patient.objects.filter(pk=patient_id).first()
        if patient is None:
            raise NotFoundError(_("No such patient."), fields={"patient": [_("No such patient.")]})
        return patient

    @extend_schema(request=SignOffInputSerializer, responses={200: LabReportDetailSerializer})
    @action(detail=True, methods=["post"], url_path="sign-off",
            permission_classes=[HasTenantRole(Role.DOCTOR)])
    def sign_off(self, request, pk=None):
        report = self.get_object()
        data = SignOffInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = lab_report_sign_off(report_id=report.pk, actor=request.user, role=tenant_of(request).role,
                                     **data.validated_data)
        return Response(LabReportDetailSerializer(self.get_queryset().get(pk=report.pk)).data)

    @extend_schema(request=None, responses={202: LabReportDetailSerializer})
    @action(detail=True, methods=["post"], permission_classes=[HasTenantRole(*CLINICAL_ROLES)])
    def reprocess(self, request, pk=None):
        report = self.get_object()
        report = lab_report_reprocess(report_id=report.pk, actor=request.user, role=tenant_of(request).role)
        return Response(LabReportDetailSerializer(report).data, status=202)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="the uploaded file")})
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        """The uploaded photo or PDF, as it was sent (audited like any read)."""
        report = self.get_object()
        audit_record(action="lab_report.file_read", actor=request.user, role=tenant_of(request).role,
                     object_type="lab_report", object_id=report.pk, patient_id=report.patient_id)
        return FileResponse(report.file.open("rb"), content_type=report.content_type)
