from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import Role

from .periodic import CRONTAB_FIELDS, periodic_task_list, periodic_task_save


class PeriodicTaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    task = serializers.CharField()
    enabled = serializers.BooleanField()
    kwargs = serializers.JSONField()
    crontab = serializers.SerializerMethodField()
    interval = serializers.SerializerMethodField()
    last_run_at = serializers.DateTimeField(allow_null=True)
    total_run_count = serializers.IntegerField()

    def get_crontab(self, job) -> dict | None:
        return {field: getattr(job.crontab, field) for field in CRONTAB_FIELDS} if job.crontab_id else None

    def get_interval(self, job) -> dict | None:
        return {"every": job.interval.every, "period": job.interval.period} if job.interval_id else None


class PeriodicTaskInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    task = serializers.CharField(max_length=200, required=False)
    enabled = serializers.BooleanField(required=False)
    crontab = serializers.DictField(required=False)
    interval = serializers.DictField(required=False)
    kwargs = serializers.DictField(required=False)


class PeriodicTaskListApi(APIView):
    """Periodic jobs (reminders, rarity analysis, retraining, monitoring): platform admins only."""

    permission_classes = [HasTenantRole(Role.PLATFORM_ADMIN)]

    @extend_schema(responses=PeriodicTaskSerializer(many=True))
    def get(self, request):
        return Response(PeriodicTaskSerializer(periodic_task_list(), many=True).data)

    @extend_schema(request=PeriodicTaskInputSerializer, responses={201: PeriodicTaskSerializer})
    def post(self, request):
        data = PeriodicTaskInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = periodic_task_save(actor=request.user, role=tenant_of(request).role, **data.validated_data)
        return Response(PeriodicTaskSerializer(job).data, status=status.HTTP_201_CREATED)


class PeriodicTaskDetailApi(APIView):
    permission_classes = [HasTenantRole(Role.PLATFORM_ADMIN)]

    @extend_schema(request=PeriodicTaskInputSerializer, responses=PeriodicTaskSerializer)
    def patch(self, request, task_id):
        data = PeriodicTaskInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "name"}
        job = periodic_task_save(actor=request.user, role=tenant_of(request).role, task_id=task_id, **fields)
        return Response(PeriodicTaskSerializer(job).data)
