"""API for algorithms and the model registry: /api/v1/configuration/..."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import STAFF_ROLES, Role

from .algorithms import algorithm_tasks
from .model_selectors import (model_artifacts, model_deployment_history, model_deployments_current,
                              shadow_summary)
from .model_services import model_activate, model_register, model_rollback, model_shadow_stop
from .models import ModelArtifact, ModelDeployment
from .selectors import setting_value

ADMINS = (Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN)


class ModelArtifactSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelArtifact
        fields = ["id", "task", "name", "version", "checksum_sha256", "size_bytes", "metrics", "training_data",
                  "model_card", "registered_at"]


class DeploymentSerializer(serializers.ModelSerializer):
    artifact = ModelArtifactSerializer()

    class Meta:
        model = ModelDeployment
        fields = ["id", "task", "mode", "artifact", "activated_at", "retired_at"]


class AlgorithmListApi(APIView):
    """Each algorithm task: its implementations, the one active here, and the models serving it."""

    permission_classes = [HasTenantRole(*STAFF_ROLES)]

    def get(self, request):
        serving = {}
        for deployment in model_deployments_current():
            serving.setdefault(deployment.task, {})[deployment.mode] = str(deployment.artifact)
        return Response([{
            "task": task.name, "description": str(task.description), "implementations": task.implementations,
            "active_implementation": setting_value(task.setting_key), "setting_key": task.setting_key,
            "active_model": serving.get(task.name, {}).get("active"),
            "shadow_model": serving.get(task.name, {}).get("shadow"),
        } for task in algorithm_tasks()])


class ModelListApi(APIView):
    """List registered models (staff); register one (platform admins)."""

    def get_permissions(self):
        roles = (Role.PLATFORM_ADMIN,) if self.request.method == "POST" else STAFF_ROLES
        return [HasTenantRole(*roles)()]

    class InputSerializer(serializers.Serializer):
        task = serializers.CharField(max_length=64)
        name = serializers.RegexField(r"^[a-z0-9][a-z0-9_.-]{0,119}$")
        version = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,39}$")
        path = serializers.CharField(max_length=500)
        expected_checksum = serializers.RegexField(r"^[0-9a-fA-F]{64}$", required=False, allow_blank=True)
        metrics = serializers.DictField(required=False)
        training_data = serializers.CharField(required=False, allow_blank=True, max_length=4000)
        model_card = serializers.CharField(required=False, allow_blank=True, max_length=20000)

    @extend_schema(responses=ModelArtifactSerializer(many=True))
    def get(self, request):
        return Response(ModelArtifactSerializer(model_artifacts(task=request.query_params.get("task")), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ModelArtifactSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        artifact = model_register(actor=request.user, **data.validated_data)
        return Response(ModelArtifactSerializer(artifact).data, status=status.HTTP_201_CREATED)


class DeploymentListApi(APIView):
    """The current hospital's serving models, and a task's history with ?task=."""

    permission_classes = [HasTenantRole(*STAFF_ROLES)]

    @extend_schema(responses=DeploymentSerializer(many=True))
    def get(self, request):
        task = request.query_params.get("task")
        queryset = model_deployment_history(task=task) if task else model_deployments_current()
        return Response(DeploymentSerializer(queryset[:200], many=True).data)


class DeploymentActivateApi(APIView):
    permission_classes = [HasTenantRole(*ADMINS)]

    class InputSerializer(serializers.Serializer):
        artifact = serializers.IntegerField(min_value=1)
        mode = serializers.ChoiceField(choices=ModelDeployment.Mode.choices, default=ModelDeployment.Mode.ACTIVE)

    @extend_schema(request=InputSerializer, responses={201: DeploymentSerializer})
    def post(self, request, task):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = tenant_of(request)
        deployment = model_activate(task=task, artifact_id=data.validated_data["artifact"],
                                    hospital_id=tenant.hospital_id, mode=data.validated_data["mode"],
                                    actor=request.user, role=tenant.role)
        return Response(DeploymentSerializer(deployment).data, status=status.HTTP_201_CREATED)


class DeploymentRollbackApi(APIView):
    permission_classes = [HasTenantRole(*ADMINS)]

    @extend_schema(request=None, responses={201: DeploymentSerializer})
    def post(self, request, task):
        tenant = tenant_of(request)
        deployment = model_rollback(task=task, hospital_id=tenant.hospital_id, actor=request.user, role=tenant.role)
        return Response(DeploymentSerializer(deployment).data, status=status.HTTP_201_CREATED)


class ShadowApi(APIView):
    """GET: how the shadow differs from the active model. DELETE: stop the shadow run."""

    def get_permissions(self):
        return [HasTenantRole(*(ADMINS if self.request.method == "DELETE" else STAFF_ROLES))()]

    def get(self, request, task):
        return Response(shadow_summary(task=task))

    @extend_schema(responses={204: None})
    def delete(self, request, task):
        tenant = tenant_of(request)
        model_shadow_stop(task=task, hospital_id=tenant.hospital_id, actor=request.user, role=tenant.role)
        return Response(status=status.HTTP_204_NO_CONTENT)
