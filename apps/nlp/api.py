from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from apps.privacy.audit import AuditedViewMixin
from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import STAFF_ROLES

from .models import EntityLabel, RecordEntity
from .selectors import CLINICAL_ROLES, entity_search
from .services import API_MAX_CHARACTERS, entities_extract


class StringOnlyField(serializers.CharField):
    """A JSON string and nothing else: DRF's CharField would take 5 or true as the
    text "5" or "True", and a client sending the wrong field deserves a 400."""

    default_error_messages = {"not_a_string": _("Must be a string.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class TextInputSerializer(serializers.Serializer):
    # no max_length here: the service refuses long text with its own error code
    text = StringOnlyField(allow_blank=True, trim_whitespace=False)


class FoundEntitySerializer(serializers.Serializer):
    label = serializers.ChoiceField(choices=EntityLabel.choices)
    label_name = serializers.SerializerMethodField()
    start = serializers.IntegerField(help_text=_("Offset of the first character."))
    end = serializers.IntegerField(help_text=_("Offset after the last character (exclusive)."))
    text = serializers.CharField()

    def get_label_name(self, entity) -> str:
        return str(EntityLabel(entity["label"]).label)


class ExtractOutputSerializer(serializers.Serializer):
    entities = FoundEntitySerializer(many=True)
    model_version = serializers.CharField()
    milliseconds = serializers.FloatField()


class StoredEntitySerializer(serializers.ModelSerializer):
    label_name = serializers.CharField(source="get_label_display")
    encounter_started_at = serializers.DateTimeField(source="encounter.started_at")

    class Meta:
        model = RecordEntity
        fields = ["id", "label", "label_name", "text", "start", "end", "encounter", "patient", "encounter_started_at",
                  "model_version"]


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("label", str, enum=EntityLabel.values, description="Entity type code"),
    OpenApiParameter("q", str, description="Text contains (case-insensitive)"),
    OpenApiParameter("encounter", int), OpenApiParameter("patient", int),
]))
class EntityViewSet(AuditedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """POST: find entities in a text (nothing stored). GET: search the entities
    stored from encounters' records at the current hospital."""

    audit_object_type = "record_entity"
    audit_patient_field = "patient_id"
    serializer_class = StoredEntitySerializer

    def get_permissions(self):
        roles = STAFF_ROLES if self.action == "create" else CLINICAL_ROLES
        return [HasTenantRole(*roles)()]

    def _int_param(self, name):
        value = self.request.query_params.get(name)
        if value in (None, ""):
            return None
        try:
            return int(value)
        except ValueError:
            raise serializers.ValidationError({name: [_("A whole number.")]}) from None

    def get_queryset(self):
        label = self.request.query_params.get("label", "")
        if label and label not in EntityLabel.values:
            raise serializers.ValidationError({"label": [_("One of %(codes)s.") % {"codes": ", ".join(EntityLabel.values)}]})
        return entity_search(tenant=tenant_of(self.request), label=label, q=self.request.query_params.get("q", "")[:100],
                             encounter_id=self._int_param("encounter"), patient_id=self._int_param("patient"))

    @extend_schema(request=TextInputSerializer, responses={200: ExtractOutputSerializer},
                   description=f"At most {API_MAX_CHARACTERS} characters per request.")
    def create(self, request):
        data = TextInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = tenant_of(request)
        result = entities_extract(text=data.validated_data["text"], hospital_id=tenant.hospital_id,
                                  actor=request.user, role=tenant.role)
        return Response(ExtractOutputSerializer(result).data)
