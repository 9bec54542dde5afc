"""The rare-case registry API under /api/v1/rare-cases/.

* `cases`: the hospital's own rare cases (its clinicians): list, detail (a view is
  recorded), follow, record a use, re-index, refresh related data now.
* `search`: the platform-wide de-identified index (staff of any hospital): search,
  detail (a view, linked to the forward it came through with `?via=`), download,
  cite, forward to a colleague.
* `catalogue`, `analyses`, `trend-runs`: the catalogue, the rarity analyses and the
  trend-model runs (platform admins start one).

Reads are audited by AuditedViewMixin, writes by the services."""

import json

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from apps.privacy.audit import AuditedViewMixin
from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import STAFF_ROLES, Role

from .models import AccessKind, RareCase, RareCaseIndexEntry, RareDisease, RarityAnalysis, TrendRun
from .selectors import (CLINICAL_ROLES, SEARCH_ROLES, access_counts, access_history, catalogue_search, followers_of,
                        index_search, prediction_range, rare_case_list_for, transmission_paths)
from .services import case_access_record, case_follow, case_forward, case_unfollow, index_access_record
from .tasks import INDEX_TASK, KEEP_ALIVE_TASK, index_cases, keep_alive_hospital, queue_after_commit, rarity_analysis, \
    trend_cycle

USE_CHOICES = [AccessKind.DOWNLOAD, AccessKind.CITATION]


def _flag(value: str | None) -> bool | None:
    if value in (None, ""):
        return None
    return str(value).lower() in ("1", "true", "yes")


class CatalogueEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = RareDisease
        fields = ["id", "source", "code", "name_zh", "name_en", "icd10_codes", "parent_code", "aliases",
                  "cross_references", "phenotypes"]


class CaseListSerializer(serializers.ModelSerializer):
    catalogue_entry = CatalogueEntrySerializer(read_only=True)

    class Meta:
        model = RareCase
        fields = ["id", "patient", "diagnosis", "icd10_code", "diagnosis_text", "category", "incidence",
                  "rare_feature", "catalogue_entry", "status", "first_prediction_index", "second_prediction_index",
                  "propagation_index", "indexed_at", "kept_alive_at", "created_at"]


class CaseDetailSerializer(CaseListSerializer):
    patient_name = serializers.CharField(source="patient.name", read_only=True)
    index_entry = serializers.SerializerMethodField()
    access = serializers.SerializerMethodField()
    transmission_paths = serializers.SerializerMethodField()
    followers = serializers.SerializerMethodField()
    following = serializers.SerializerMethodField()
    prediction_range = serializers.SerializerMethodField()

    class Meta(CaseListSerializer.Meta):
        fields = CaseListSerializer.Meta.fields + [
            "patient_name", "retrieval_feature", "first_model_version", "second_model_version", "predicted_at",
            "related_data", "index_entry", "access", "transmission_paths", "followers", "following",
            "prediction_range"]

    def _entry(self, case):
        return RareCaseIndexEntry.objects.filter(case_id=case.pk).first()

    def get_index_entry(self, case) -> str | None:
        entry = self._entry(case)
        return str(entry.pk) if entry else None

    def get_access(self, case) -> dict:
        entry = self._entry(case)
        if entry is None:
            return {"total": {}, "periods": []}
        return {"total": access_counts(entry_ids=[entry.pk]).get(entry.pk, {}),
                "periods": access_history(entry=entry)}

    def get_transmission_paths(self, case) -> list:
        entry = self._entry(case)
        return transmission_paths(entry=entry, limit=50) if entry else []

    def get_followers(self, case) -> list:
        return [{"user": f.user_id, "username": f.user.get_username(), "since": f.created_at}
                for f in followers_of(case=case)]

    def get_following(self, case) -> bool:
        return any(f.user_id == self.context["request"].user.pk for f in followers_of(case=case))

    def get_prediction_range(self, case) -> list | None:
        preset = prediction_range()
        return list(preset) if preset else None


class UseSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=USE_CHOICES)
    parent = serializers.UUIDField(required=False, allow_null=True)


class ForwardSerializer(serializers.Serializer):
    to_user = serializers.IntegerField()
    parent = serializers.UUIDField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class AccessSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    parent = serializers.UUIDField(source="parent_id", allow_null=True)
    channel = serializers.CharField()
    occurred_at = serializers.DateTimeField()


def _record_use(request, record, *, channel: str, **target) -> Response:
    """Parse a use (download, citation) and record it on a case or an index entry."""
    data = UseSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    access = record(**target, kind=data.validated_data["kind"], actor=request.user,
                    parent=data.validated_data.get("parent"), channel=channel, role=tenant_of(request).role)
    return Response(AccessSerializer(access).data, status=status.HTTP_201_CREATED)


class CaseViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The hospital's rare cases, ordered by incidence (rarest first)."""

    audit_object_type = "rare_case"
    audit_patient_field = "patient_id"
    lookup_value_regex = r"\d+"
    permission_classes = [HasTenantRole(*CLINICAL_ROLES)]
    filter_backends = []

    @extend_schema(parameters=[OpenApiParameter(name, str, required=False) for name in
                               ("code", "category", "status", "catalogue", "followed", "q", "ordering")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return rare_case_list_for(
            tenant=tenant_of(self.request), code=params.get("code", ""), category=params.get("category", ""),
            status=params.get("status", ""), catalogue=_flag(params.get("catalogue")),
            followed_by=self.request.user if _flag(params.get("followed")) else None, q=params.get("q", ""),
            ordering=params.get("ordering", "incidence"))

    def get_serializer_class(self):
        return CaseDetailSerializer if self.action == "retrieve" else CaseListSerializer

    def retrieve(self, request, *args, **kwargs):
        case = self.get_object()
        case_access_record(case=case, kind=AccessKind.VIEW, actor=request.user, channel="registry",
                           role=tenant_of(request).role)
        return Response(CaseDetailSerializer(case, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={200: None})
    @action(detail=True, methods=["post", "delete"])
    def follow(self, request, pk=None):
        case, role = self.get_object(), tenant_of(request).role
        if request.method == "DELETE":
            case_unfollow(case=case, user=request.user, role=role)
            return Response({"following": False})
        case_follow(case=case, user=request.user, role=role)
        return Response({"following": True})

    @extend_schema(request=UseSerializer, responses={201: AccessSerializer})
    @action(detail=True, methods=["post"])
    def uses(self, request, pk=None):
        return _record_use(request, case_access_record, channel="registry", case=self.get_object())

    def _queue(self, task, name):
        case, tenant = self.get_object(), tenant_of(self.request)
        if tenant.role not in (Role.DOCTOR, Role.HOSPITAL_ADMIN):
            raise PermissionDenied(_("Doctors and hospital administrators refresh cases."))
        queue_after_commit(task, hospital_id=tenant.hospital_id, case_ids=[case.pk])
        return Response({"queued": name, "case": case.pk}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: None})
    @action(detail=True, methods=["post"])
    def reindex(self, request, pk=None):
        """Rebuild the retrieval feature and index entry (step 3) in the background."""
        return self._queue(index_cases, INDEX_TASK)

    @extend_schema(request=None, responses={202: None})
    @action(detail=True, methods=["post"])
    def refresh(self, request, pk=None):
        """Retrieve related data now (step 8) in the background."""
        return self._queue(keep_alive_hospital, KEEP_ALIVE_TASK)


class IndexEntrySerializer(serializers.ModelSerializer):
    hospital = serializers.CharField(source="hospital.name", read_only=True)
    catalogue_entry = CatalogueEntrySerializer(read_only=True)

    class Meta:
        model = RareCaseIndexEntry
        fields = ["id", "hospital", "pseudonym", "icd10_code", "diagnosis_text", "category", "incidence",
                  "rare_feature", "catalogue_entry", "codes", "entities", "findings", "sex", "age_band", "region",
                  "diagnosed_month", "updated_at"]


class _AuditRef:
    """An index entry as the audit mixin records it: its UUID as text (the audit
    detail is JSON)."""

    def __init__(self, pk):
        self.pk = str(pk)


class IndexViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The de-identified index of every hospital's rare cases."""

    audit_object_type = "rare_case_index"
    lookup_value_regex = r"[0-9a-fA-F-]{32,36}"
    permission_classes = [HasTenantRole(*SEARCH_ROLES)]
    serializer_class = IndexEntrySerializer
    filter_backends = []

    @extend_schema(parameters=[OpenApiParameter(name, str, required=False) for name in
                               ("q", "code", "category", "catalogue", "sex", "age_band", "ordering")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            self._audit_objects = [_AuditRef(entry.pk) for entry in page]
        return page

    def get_queryset(self):
        params = self.request.query_params
        return index_search(tenant=tenant_of(self.request), q=params.get("q", "")[:200],
                            code=params.get("code", ""), category=params.get("category", ""),
                            catalogue=_flag(params.get("catalogue")), sex=params.get("sex", ""),
                            age_band=params.get("age_band", ""), ordering=params.get("ordering", "incidence"))

    @extend_schema(parameters=[OpenApiParameter("via", str, required=False,
                                                description="The access (a forward) this view came through.")])
    def retrieve(self, request, *args, **kwargs):
        entry = self.get_object()
        access = index_access_record(entry=entry, kind=AccessKind.VIEW, actor=request.user, channel="search",
                                     parent=request.query_params.get("via") or None, role=tenant_of(request).role)
        return Response({**IndexEntrySerializer(entry).data, "access": str(access.pk)})

    @extend_schema(request=UseSerializer, responses={201: AccessSerializer})
    @action(detail=True, methods=["post"])
    def uses(self, request, pk=None):
        return _record_use(request, index_access_record, channel="search", entry=self.get_object())

    @extend_schema(parameters=[OpenApiParameter("via", str, required=False)],
                   responses={(200, "application/json"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The de-identified entry as a JSON file; recorded as a download."""
        entry = self.get_object()
        access = index_access_record(entry=entry, kind=AccessKind.DOWNLOAD, actor=request.user, channel="search",
                                     parent=request.query_params.get("via") or None, role=tenant_of(request).role)
        body = json.dumps({**IndexEntrySerializer(entry).data, "access": str(access.pk)}, ensure_ascii=False,
                          default=str, indent=1)
        response = HttpResponse(body.encode(), content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="rare-case-{entry.pk}.json"'
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(request=ForwardSerializer, responses={201: AccessSerializer})
    @action(detail=True, methods=["post"])
    def forward(self, request, pk=None):
        entry = self.get_object()
        data = ForwardSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        access = case_forward(entry=entry, actor=request.user, role=tenant_of(request).role,
                              recipient_id=data.validated_data["to_user"], parent=data.validated_data.get("parent"),
                              note=data.validated_data["note"])
        return Response(AccessSerializer(access).data, status=status.HTTP_201_CREATED)


class CatalogueViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The rare-disease catalogue (reference data, no patient data)."""

    permission_classes = [HasTenantRole(*STAFF_ROLES)]
    serializer_class = CatalogueEntrySerializer
    filter_backends = []

    def get_queryset(self):
        params = self.request.query_params
        return catalogue_search(q=params.get("q", "")[:100], source=params.get("source", ""),
                                with_icd10=bool(_flag(params.get("with_icd10"))))


class AnalysisSerializer(serializers.ModelSerializer):
    class Meta:
        model = RarityAnalysis
        fields = ["id", "status", "started_at", "finished_at", "window_start", "window_end", "incidence_rate",
                  "total_patients", "total_diagnoses", "codes_seen", "codes_rare", "catalogue_matches", "categories",
                  "cases_registered", "cases_updated", "aggregate_ms", "total_ms", "error"]


class TrendRunSerializer(serializers.ModelSerializer):
    first_model = serializers.CharField(source="first_artifact", read_only=True, allow_null=True)
    second_model = serializers.CharField(source="second_artifact", read_only=True, allow_null=True)

    class Meta:
        model = TrendRun
        fields = ["id", "status", "started_at", "finished_at", "first_model", "second_model", "update_accepted",
                  "cases_scored", "propagation_selected", "metrics", "detail"]


class _PlatformRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [HasTenantRole(*CLINICAL_ROLES)]
    filter_backends = []
    task = None

    @extend_schema(request=None, responses={202: None})
    def create(self, request, *args, **kwargs):
        if tenant_of(request).role != Role.PLATFORM_ADMIN:
            raise PermissionDenied(_("Only platform administrators start a platform-wide run."))
        task = type(self).task
        queue_after_commit(task)
        return Response({"queued": task.name}, status=status.HTTP_202_ACCEPTED)


class AnalysisViewSet(_PlatformRunViewSet):
    """Rarity analyses (step 2); POST starts one on the ml queue."""

    queryset = RarityAnalysis.objects.order_by("-started_at", "-id")
    serializer_class = AnalysisSerializer
    task = rarity_analysis


class TrendRunViewSet(_PlatformRunViewSet):
    """Access-trend model runs (steps 5 and 6); POST starts one on the ml queue."""

    queryset = TrendRun.objects.select_related("first_artifact", "second_artifact").order_by("-started_at", "-id")
    serializer_class = TrendRunSerializer
    task = trend_cycle
