from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import STAFF_ROLES, Role

from .selectors import settings_effective
from .services import setting_reset, setting_set

SCOPES = ("hospital", "platform")


class SettingOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    type = serializers.CharField()
    value = serializers.JSONField()
    source = serializers.ChoiceField(choices=["hospital", "platform", "default"])
    default = serializers.JSONField()
    description = serializers.CharField()
    minimum = serializers.FloatField(allow_null=True)
    maximum = serializers.FloatField(allow_null=True)
    choices = serializers.ListField(child=serializers.CharField())
    editable_by = serializers.ListField(child=serializers.CharField())
    hospital_may_override = serializers.BooleanField()


class SettingListApi(APIView):
    """Every declared setting with its effective value at the current hospital."""

    permission_classes = [HasTenantRole(*STAFF_ROLES)]

    @extend_schema(responses=SettingOutputSerializer(many=True))
    def get(self, request):
        return Response(settings_effective(hospital_id=tenant_of(request).hospital_id))


class SettingDetailApi(APIView):
    """Change (PUT) or reset (DELETE) one setting, for this hospital or platform-wide."""

    permission_classes = [HasTenantRole(Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN)]

    class InputSerializer(serializers.Serializer):
        value = serializers.JSONField(help_text=_("The new value, of the setting's type."))
        scope = serializers.ChoiceField(choices=SCOPES, default="hospital")

    def _hospital_id(self, request, scope):
        return None if scope == "platform" else tenant_of(request).hospital_id

    @extend_schema(request=InputSerializer, responses=SettingOutputSerializer)
    def put(self, request, key):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = tenant_of(request)
        hospital_id = self._hospital_id(request, data.validated_data["scope"])
        stored = setting_set(key=key, value=data.validated_data["value"], actor=request.user, role=tenant.role,
                             hospital_id=hospital_id)
        # Answer from what was stored: re-reading now would hit this process's copy,
        # which is refreshed only after the transaction commits.
        row = next(r for r in settings_effective(hospital_id=tenant.hospital_id) if r["key"] == key)
        source = "platform" if hospital_id is None else "hospital"
        if source == "hospital" or row["source"] != "hospital":
            row.update(value=stored["value"], source=source)
        return Response(row)

    @extend_schema(parameters=[OpenApiParameter("scope", str, enum=SCOPES)], responses={204: None})
    def delete(self, request, key):
        scope = request.query_params.get("scope", "hospital")
        if scope not in SCOPES:
            scope = "hospital"
        tenant = tenant_of(request)
        setting_reset(key=key, actor=request.user, role=tenant.role, hospital_id=self._hospital_id(request, scope))
        return Response(status=status.HTTP_204_NO_CONTENT)
