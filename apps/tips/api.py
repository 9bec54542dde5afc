"""/api/v1/tips/: health tips by category, favourites, reading history, images and
personal recommendations with their reasons."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from apps.core.exceptions import DomainError
from apps.privacy.audit import AuditedViewMixin
from apps.privacy.services import audit_record
from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import Role

from . import selectors, services
from .models import Tip

READERS = HasTenantRole(Role.PATIENT, Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN)
EDITORS = HasTenantRole(*selectors.EDITORS)


class TipListSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tip
        fields = ["id", "title", "category", "summary", "tags", "published", "created_at", "updated_at"]


class TipDetailSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tip
        fields = ["id", "title", "category", "summary", "body_html", "tags", "published", "created_at", "updated_at"]


class TipInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=120)
    category = serializers.ChoiceField(choices=Tip.Category.choices)
    summary = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    body_html = serializers.CharField(max_length=100_000)
    published = serializers.BooleanField(default=False)


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField()


class RecommendationSerializer(serializers.Serializer):
    tip = TipListSerializer()
    score = serializers.FloatField()
    source = serializers.CharField()
    reason = serializers.CharField()


def _patient_or_403(request):
    patient = selectors.patient_of(user=request.user)
    if patient is None:
        raise PermissionDenied(_("Only patients with a record at this hospital have favourites and history."))
    return patient


class TipViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    audit_object_type = "tip"
    permission_classes = [READERS]
    serializer_class = TipListSerializer
    filterset_fields = ["published"]
    ordering_fields = ["created_at", "title"]

    def get_permissions(self):
        if self.action in ("create", "partial_update", "images"):
            return [EDITORS()]
        return super().get_permissions()

    def get_queryset(self):
        category = self.request.query_params.get("category") or None
        if category and category not in Tip.Category.values:
            raise DomainError(_("Unknown category; use one of: %(choices)s.") % {"choices": ", ".join(Tip.Category.values)},
                              code="invalid", fields={"category": [_("Unknown category.")]})
        return selectors.tips_for(tenant=tenant_of(self.request), category=category)

    def get_serializer_class(self):
        return TipDetailSerializer if self.action == "retrieve" else TipListSerializer

    @extend_schema(parameters=[OpenApiParameter("category", str, enum=Tip.Category.values)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        """A patient reading a tip adds it to their reading history."""
        tip = self.get_object()
        if tenant_of(request).role == Role.PATIENT:
            patient = selectors.patient_of(user=request.user)
            if patient is not None:
                services.tip_read_record(tip=tip, patient=patient, actor=request.user, role=Role.PATIENT)
        return Response(TipDetailSerializer(tip).data)

    @extend_schema(request=TipInputSerializer, responses={201: TipDetailSerializer})
    def create(self, request):
        data = TipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = tenant_of(request)
        tip = services.tip_save(hospital_id=tenant.hospital_id, actor=request.user, role=tenant.role,
                                **data.validated_data)
        return Response(TipDetailSerializer(tip).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TipInputSerializer, responses=TipDetailSerializer)
    def partial_update(self, request, pk=None):
        tip = self.get_object()
        current = {"title": tip.title, "category": tip.category, "summary": tip.summary, "body_html": tip.body_html,
                   "published": tip.published}
        data = TipInputSerializer(data={**current, **request.data})
        data.is_valid(raise_exception=True)
        tenant = tenant_of(request)
        tip = services.tip_save(tip=tip, hospital_id=tenant.hospital_id, actor=request.user, role=tenant.role,
                                **data.validated_data)
        return Response(TipDetailSerializer(tip).data)

    @extend_schema(request=None, responses={201: None, 200: None, 204: None})
    @action(detail=True, methods=["post", "delete"])
    def favourite(self, request, pk=None):
        tip = self.get_object()
        patient = _patient_or_403(request)
        if request.method == "DELETE":
            services.favourite_remove(tip=tip, patient=patient, actor=request.user, role=tenant_of(request).role)
            return Response(status=status.HTTP_204_NO_CONTENT)
        _favourite, created = services.favourite_add(tip=tip, patient=patient, actor=request.user,
                                                     role=tenant_of(request).role)
        return Response({"tip": tip.pk, "favourite": True},
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses=TipListSerializer(many=True))
    @action(detail=False, methods=["get"])
    def favourites(self, request):
        patient = _patient_or_403(request)
        tips = [favourite.tip for favourite in selectors.favourites_of(patient=patient)[:200]]
        self._audit_list("tip.favourites_read", patient, tips)
        return Response(TipListSerializer(tips, many=True).data)

    @extend_schema(responses=TipListSerializer(many=True))
    @action(detail=False, methods=["get"])
    def history(self, request):
        patient = _patient_or_403(request)
        reads = list(selectors.history_of(patient=patient)[:200])
        self._audit_list("tip.history_read", patient, [read.tip for read in reads])
        return Response([{**TipListSerializer(read.tip).data, "last_read_at": read.last_read_at, "count": read.count}
                         for read in reads])

    @extend_schema(responses=RecommendationSerializer(many=True),
                   parameters=[OpenApiParameter("limit", int, description="1-50, default 10")])
    @action(detail=False, methods=["get"])
    def recommended(self, request):
        """Personal recommendations for the patient, each with the reason it is shown."""
        patient = _patient_or_403(request)
        try:
            limit = int(request.query_params.get("limit", 10))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 50:
            raise DomainError(_("limit must be 1 to 50."), code="invalid", fields={"limit": [_("1 to 50.")]})
        ranked = selectors.recommended_for(patient=patient, limit=limit)
        self._audit_list("tip.recommended_read", patient, [tip for tip, _item in ranked])
        return Response([{"tip": TipListSerializer(tip).data, "score": round(item.score, 4), "source": item.source,
                          "reason": item.reason} for tip, item in ranked])

    @extend_schema(request={"multipart/form-data": ImageUploadSerializer}, responses={201: None})
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def images(self, request):
        """Upload an image for a tip's text; answers with the URL to use in <img src>."""
        upload = request.FILES.get("image")
        if upload is None:
            raise DomainError(_("Attach the image as the form field 'image'."), code="invalid",
                              fields={"image": [_("This field is required.")]})
        tenant = tenant_of(request)
        image = services.tip_image_upload(hospital_id=tenant.hospital_id, actor=request.user, role=tenant.role,
                                          upload=upload)
        return Response({"id": str(image.pk), "url": image.file.url, "width": image.width, "height": image.height,
                         "bytes": image.bytes}, status=status.HTTP_201_CREATED)

    def _audit_list(self, action_name: str, patient, tips) -> None:
        # Whose favourites, history or recommendations were shown: patient data, read.
        audit_record(action=action_name, actor=self.request.user, role=tenant_of(self.request).role,
                     object_type="tip", patient_id=patient.pk, detail={"object_ids": [tip.pk for tip in tips]})
