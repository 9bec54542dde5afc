from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import STAFF_ROLES, Role

from .models import Notice
from .services import notice_send


class NoticeOutputSerializer(serializers.ModelSerializer):
    roles = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Notice
        fields = ["id", "title", "body", "roles", "created_at", "delivered_at"]


class NoticeInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=4000)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=sorted(STAFF_ROLES)), min_length=1)


class NoticeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Notices to the hospital's staff: administrators send, staff read."""

    serializer_class = NoticeOutputSerializer

    def get_permissions(self):
        if self.action == "create":
            return [HasTenantRole(Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN)()]
        return [HasTenantRole(*STAFF_ROLES)()]

    def get_queryset(self):
        tenant = tenant_of(self.request)
        if tenant.role in (Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN):
            return Notice.objects.all()
        return Notice.objects.filter(audience__contains=f",{tenant.role},")

    @extend_schema(request=NoticeInputSerializer, responses={201: NoticeOutputSerializer})
    def create(self, request):
        data = NoticeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = tenant_of(request)
        notice = notice_send(hospital_id=tenant.hospital_id, actor=request.user, role=tenant.role,
                             **data.validated_data)
        return Response(NoticeOutputSerializer(notice).data, status=status.HTTP_201_CREATED)
