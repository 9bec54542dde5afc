"""Imaging API: upload, list, detail (with findings and similar studies), the display
image and heatmap, and review/sign-off. Reads are audited by AuditedViewMixin, writes by
the services."""

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from apps.configuration.selectors import setting_value
from apps.patients.selectors import patient_list_for
from apps.privacy.audit import AuditedViewMixin
from apps.privacy.services import audit_record
from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import Role

from .declared_settings import SIMILAR_STUDIES
from .models import Finding, ImagingStudy, Review
from .selectors import findings_visible, imaging_study_list_for, similar_studies
from .services import imaging_study_review, imaging_study_upload

READERS = (Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN, Role.PATIENT)
STAFF_ONLY_FIELDS = ("dicom_metadata",)


class FindingSerializer(serializers.ModelSerializer):
    box = serializers.ListField(child=serializers.FloatField(), read_only=True)
    preliminary = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = ["id", "label", "box", "confidence", "model_name", "model_version", "verdict", "reason", "original",
                  "preliminary", "reviewed_at"]

    def get_preliminary(self, finding) -> bool:
        return finding.verdict == Finding.Verdict.PENDING


class StudyListSerializer(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.name", read_only=True)
    finding_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImagingStudy
        fields = ["id", "patient", "patient_name", "modality", "body_part", "source_kind", "status", "width", "height",
                  "lesion_probability", "finding_count", "created_at", "analysed_at", "signed_off_at"]


class StudyDetailSerializer(StudyListSerializer):
    findings = serializers.SerializerMethodField()
    similar = serializers.SerializerMethodField()
    flagged = serializers.SerializerMethodField()

    class Meta(StudyListSerializer.Meta):
        fields = StudyListSerializer.Meta.fields + [
            "findings", "similar", "flagged", "lesion_threshold", "detector_model", "classifier_model",
            "window_center", "window_width", "value_min", "value_max", "error_code", "dicom_metadata",
            "deidentified_metadata"]

    def get_findings(self, study) -> list:
        return FindingSerializer(findings_visible(study=study, tenant=self.context["tenant"]), many=True).data

    def get_flagged(self, study) -> bool | None:
        if study.lesion_probability is None or study.lesion_threshold is None:
            return None
        return study.lesion_probability >= study.lesion_threshold

    def get_similar(self, study) -> list:
        if self.context["tenant"].role == Role.PATIENT:
            return []  # other patients' studies are for staff only
        return [{"id": other.pk, "similarity": round(score, 4), "status": other.status,
                 "created_at": other.created_at} for other, score in
                similar_studies(study=study, limit=int(setting_value(SIMILAR_STUDIES)))]

    def to_representation(self, study):
        data = super().to_representation(study)
        if self.context["tenant"].role == Role.PATIENT:
            for name in STAFF_ONLY_FIELDS + ("lesion_probability", "lesion_threshold", "flagged", "similar"):
                data.pop(name, None)
        return data


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    patient = serializers.IntegerField(required=False)
    modality = serializers.ChoiceField(choices=ImagingStudy.Modality.choices, default=ImagingStudy.Modality.DX)
    body_part = serializers.RegexField(r"^[A-Z]{2,32}$", default="CHEST")


class VerdictSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    verdict = serializers.ChoiceField(choices=["confirmed", "edited", "rejected"])
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    box = serializers.ListField(child=serializers.FloatField(), required=False, min_length=4, max_length=4)
    label = serializers.CharField(required=False, max_length=32)


class AddedSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=32)
    box = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4)
    reason = serializers.CharField(max_length=2000)


class ReviewInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Review.Decision.choices)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    findings = VerdictSerializer(many=True, required=False, default=list)
    added = AddedSerializer(many=True, required=False, default=list)


class ReviewOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Review
        fields = ["id", "study", "decision", "comment", "changes", "created_at"]


class ImagingStudyViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          mixins.CreateModelMixin, viewsets.GenericViewSet):
    """X-ray studies of the current hospital (a patient: their own)."""

    audit_object_type = "imaging_study"
    audit_patient_field = "patient_id"
    permission_classes = [HasTenantRole(*READERS)]
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    filterset_fields = ["status", "patient"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return imaging_study_list_for(user=self.request.user, tenant=tenant_of(self.request))

    def get_serializer_class(self):
        return {"retrieve": StudyDetailSerializer, "create": UploadSerializer,
                "review": ReviewInputSerializer}.get(self.action, StudyListSerializer)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "tenant": tenant_of(self.request)}

    def _patient_for_upload(self, tenant, patient_id):
        patients = patient_list_for(user=self.request.user, tenant=tenant)
        if tenant.role == Role.PATIENT:
            patient = patients.first() if patient_id is None else patients.filter(pk=patient_id).first()
        else:
            if tenant.role not in (Role.DOCTOR, Role.HOSPITAL_ADMIN):
                raise PermissionDenied(_("Only doctors and hospital administrators upload studies for patients."))
            if patient_id is None:
                raise serializers.ValidationError({"patient": [_("This field is required.")]})
            patient = patients.filter(pk=patient_id).first()
        if patient is None:
            raise NotFound(_("No such patient at this hospital."))
        return patient

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={201: StudyListSerializer})
    def create(self, request, *args, **kwargs):
        tenant = tenant_of(request)
        data = UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = self._patient_for_upload(tenant, data.validated_data.get("patient"))
        upload = data.validated_data["file"]
        study = imaging_study_upload(hospital_id=tenant.hospital_id, patient=patient, data=upload.read(),
                                     filename=upload.name or "", modality=data.validated_data["modality"],
                                     body_part=data.validated_data["body_part"], actor=request.user,
                                     role=tenant.role)
        study.finding_count = 0
        return Response(StudyListSerializer(study).data, status=201)

    @extend_schema(request=ReviewInputSerializer, responses={201: ReviewOutputSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        tenant = tenant_of(request)
        study = self.get_object()
        data = ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = imaging_study_review(study=study, reviewer=request.user, role=tenant.role,
                                      decision=data.validated_data["decision"],
                                      comment=data.validated_data["comment"],
                                      verdicts=data.validated_data["findings"], added=data.validated_data["added"])
        return Response(ReviewOutputSerializer(review).data, status=201)

    def _file(self, request, field: str, action_name: str):
        study = self.get_object()
        file = getattr(study, field)
        if not file:
            raise NotFound(_("This study has no such image yet."))
        tenant = tenant_of(request)
        audit_record(action=f"imaging_study.{action_name}", actor=request.user, role=tenant.role,
                     hospital_id=tenant.hospital_id, object_type="imaging_study", object_id=study.pk,
                     patient_id=study.patient_id)
        with file.open("rb") as handle:
            response = HttpResponse(handle.read(), content_type="image/png")
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(responses={(200, "image/png"): bytes})
    @action(detail=True, methods=["get"])
    def image(self, request, pk=None):
        """The display image: 16-bit values in the red (high) and green (low) bytes."""
        return self._file(request, "display_file", "image_read")

    @extend_schema(responses={(200, "image/png"): bytes})
    @action(detail=True, methods=["get"])
    def heatmap(self, request, pk=None):
        if tenant_of(request).role == Role.PATIENT:
            raise PermissionDenied(_("Heatmaps are for clinicians."))
        return self._file(request, "heatmap_file", "heatmap_read")
