"""GET /api/v1/monitoring/: the monitoring snapshot as JSON."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import Role

from .collectors import monitoring_snapshot


class MonitoringCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "error", "not_configured"])
    ms = serializers.FloatField(required=False)
    error = serializers.CharField(required=False)


class MonitoringQueueSerializer(serializers.Serializer):
    queue = serializers.CharField()
    depth = serializers.IntegerField()


class MonitoringWorkerSerializer(serializers.Serializer):
    hostname = serializers.CharField()
    pid = serializers.IntegerField(allow_null=True)
    queues = serializers.ListField(child=serializers.CharField())
    pool = serializers.CharField(allow_null=True)
    concurrency = serializers.IntegerField(allow_null=True)
    active = serializers.IntegerField(allow_null=True)
    processed = serializers.IntegerField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    last_heartbeat_at = serializers.DateTimeField(allow_null=True)
    seconds_since_heartbeat = serializers.FloatField()
    alive = serializers.BooleanField()


class MonitoringTaskSerializer(serializers.Serializer):
    task = serializers.CharField()
    succeeded = serializers.IntegerField(help_text="Runs in the window.")
    failed = serializers.IntegerField()
    retried = serializers.IntegerField()
    throughput_per_minute = serializers.FloatField()
    failure_rate = serializers.FloatField(allow_null=True)
    samples = serializers.IntegerField(help_text="Run times behind the percentiles (at most 1000).")
    p50_ms = serializers.FloatField(allow_null=True)
    p95_ms = serializers.FloatField(allow_null=True)
    wait_p50_ms = serializers.FloatField(allow_null=True, help_text="Time between publish and start.")
    wait_p95_ms = serializers.FloatField(allow_null=True)
    total = serializers.DictField(child=serializers.IntegerField(), help_text="Runs by outcome since the store began.")
    total_seconds = serializers.FloatField()


class MonitoringFailureSerializer(serializers.Serializer):
    task = serializers.CharField()
    task_id = serializers.CharField(allow_null=True)
    exception = serializers.CharField()
    message = serializers.CharField(allow_blank=True)
    hospital_id = serializers.IntegerField(allow_null=True)
    worker = serializers.CharField(allow_null=True)
    retries = serializers.IntegerField()
    at = serializers.DateTimeField()


class MonitoringReasonSerializer(serializers.Serializer):
    task = serializers.CharField()
    exception = serializers.CharField()
    count = serializers.IntegerField()
    last_message = serializers.CharField(allow_blank=True)
    last_at = serializers.DateTimeField()


class MonitoringFailuresSerializer(serializers.Serializer):
    by_reason = MonitoringReasonSerializer(many=True, help_text="Failures in the window, by task and exception type.")
    recent = MonitoringFailureSerializer(many=True)


class MonitoringInferenceSerializer(serializers.Serializer):
    task = serializers.CharField()
    model = serializers.CharField()
    version = serializers.CharField()
    role = serializers.ChoiceField(choices=["active", "shadow"])
    count = serializers.IntegerField()
    p50_ms = serializers.FloatField(allow_null=True)
    p95_ms = serializers.FloatField(allow_null=True)
    total = serializers.IntegerField()
    total_seconds = serializers.FloatField()


class MonitoringWebsocketProcessSerializer(serializers.Serializer):
    process = serializers.CharField()
    connections = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class MonitoringWebsocketsSerializer(serializers.Serializer):
    connections = serializers.IntegerField(allow_null=True)
    processes = MonitoringWebsocketProcessSerializer(many=True)


class MonitoringAlertSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.ChoiceField(choices=["queue_depth", "task_failure_rate", "task_p95", "worker_heartbeat",
                                            "dependency"])
    subject = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    message = serializers.CharField()
    since = serializers.DateTimeField(required=False)


class MonitoringAlertsSerializer(serializers.Serializer):
    firing = MonitoringAlertSerializer(many=True, help_text="Thresholds crossed now.")
    active = MonitoringAlertSerializer(many=True,
                                       help_text="Alerts announced to platform admins and not yet recovered.")
    evaluated_at = serializers.DateTimeField(allow_null=True)


class MonitoringSnapshotSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    store = serializers.ChoiceField(choices=["redis", "in_process"])
    celery_mode = serializers.ChoiceField(choices=["workers", "eager"])
    window_minutes = serializers.IntegerField()
    thresholds = serializers.DictField()
    dependencies = serializers.DictField(child=MonitoringCheckSerializer())
    queues = MonitoringQueueSerializer(many=True)
    workers = MonitoringWorkerSerializer(many=True)
    tasks = MonitoringTaskSerializer(many=True)
    failures = MonitoringFailuresSerializer()
    inference = MonitoringInferenceSerializer(many=True)
    websockets = MonitoringWebsocketsSerializer()
    alerts = MonitoringAlertsSerializer()
    errors = serializers.DictField(child=serializers.CharField(), help_text="Parts that could not be read, and why.")
    limitations = serializers.ListField(child=serializers.CharField(), help_text="What this deployment cannot know.")


class MonitoringSnapshotApi(APIView):
    """Queues, workers, tasks, failures, model latency, dependencies, WebSocket
    connections and alerts. Hospital administrators see failure details of their own
    hospital's tasks only; the figures themselves are platform-wide."""

    permission_classes = [HasTenantRole(Role.PLATFORM_ADMIN, Role.HOSPITAL_ADMIN)]

    @extend_schema(responses=MonitoringSnapshotSerializer)
    def get(self, request):
        tenant = tenant_of(request)
        hospital_id = None if tenant.role == Role.PLATFORM_ADMIN else tenant.hospital_id
        return Response(monitoring_snapshot(failures_of_hospital=hospital_id))
