"""The partners API under /api/v1/partners/.

Partners are platform-wide: staff read them, platform admins manage them. Decisions
and shares belong to the hospital of their case: compliance officers and admins read
them (every read audited by the mixin), compliance officers approve or reject.
Staff read the cases partners sent us. The inbound endpoint authenticates partners by
signature, not by user (see InboundShareApi)."""

from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from apps.core.errors import error_body
from apps.core.exceptions import PermissionDeniedError
from apps.privacy.audit import AuditedViewMixin
from apps.privacy.models import AuditOutcome
from apps.privacy.services import audit_record
from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import STAFF_ROLES, Role

from . import services
from .models import DataCategory, ExternalRareCase, OutboundShare, ShareDecision, SharingPartner
from .selectors import (decision_list, external_case_list, partner_list, partner_share_counts, platform_feature_tag,
                        share_list)

ADMINS = (Role.PLATFORM_ADMIN, Role.HOSPITAL_ADMIN)
OVERSIGHT = (Role.COMPLIANCE_OFFICER, *ADMINS)


def _who(request) -> dict:
    return {"actor": request.user, "role": tenant_of(request).role}


def masked(value: str) -> str:
    return f"…{value[-4:]}" if value else ""


# --- partners -------------------------------------------------------------------------------


class PartnerSerializer(serializers.ModelSerializer):
    our_id_at_partner = serializers.SerializerMethodField()
    shares = serializers.SerializerMethodField()

    class Meta:
        model = SharingPartner
        fields = ["id", "name", "code", "endpoint_url", "status", "interconnected", "communication",
                  "research_focus", "data_categories", "feature_tag", "key_fingerprint", "our_id_at_partner",
                  "shares", "created_at", "updated_at", "status_changed_at", "last_inbound_at"]

    def get_our_id_at_partner(self, partner) -> str:
        return masked(partner.our_id_at_partner)  # a credential: only its end is ever shown

    def get_shares(self, partner) -> dict:
        return self.context.get("share_counts", {}).get(partner.pk, {})


class _ListField(serializers.ListField):
    child = serializers.CharField(max_length=64)


class PartnerWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    code = serializers.SlugField(max_length=64)
    endpoint_url = serializers.URLField(max_length=300)
    our_id_at_partner = serializers.CharField(max_length=200)
    research_focus = _ListField(max_length=200)
    data_categories = serializers.ListField(child=serializers.ChoiceField(DataCategory.choices), max_length=10)
    protocols = _ListField(required=False, max_length=20)
    fhir_version = serializers.CharField(required=False, max_length=16, allow_blank=True)
    interconnected = serializers.BooleanField(required=False, default=False)
    hmac_key = serializers.CharField(required=False, max_length=200, allow_blank=True,
                                     help_text="base64url of 32+ random bytes; empty: generated and returned once")


class PartnerUpdateSerializer(PartnerWriteSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in list(self.fields):
            self.fields[name].required = False
        for name in ("code", "hmac_key"):
            self.fields.pop(name)
        self.fields["interconnected"].default = serializers.empty


class PartnerStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(SharingPartner.Status.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class RotateKeySerializer(serializers.Serializer):
    hmac_key = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


_KEY_ONCE = inline_serializer("PartnerWithKey", {"partner": PartnerSerializer(), "hmac_key": serializers.CharField()})


class PartnerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sharing partners with their feature tags and this hospital's shares to them."""

    permission_classes = [HasTenantRole(*STAFF_ROLES)]
    serializer_class = PartnerSerializer
    lookup_value_regex = r"\d+"
    filterset_fields = ["status", "interconnected"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return partner_list()

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.action in ("list", "retrieve"):
            ids = [self.kwargs["pk"]] if self.kwargs.get("pk", "").isdigit() else \
                list(self.filter_queryset(self.get_queryset()).values_list("pk", flat=True)[:500])
            context["share_counts"] = partner_share_counts(partner_ids=ids)
        return context

    def _admin(self):
        if tenant_of(self.request).role != Role.PLATFORM_ADMIN:
            audit_record(action="partners.partner_manage", **_who(self.request), outcome=AuditOutcome.DENIED,
                         hospital_id=None, object_type="sharing_partner", object_id=self.kwargs.get("pk", ""))
            raise PermissionDeniedError(_("Only platform administrators manage sharing partners."))

    @extend_schema(request=PartnerWriteSerializer, responses={201: _KEY_ONCE})
    def create(self, request):
        self._admin()
        data = PartnerWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.partner_create(**data.validated_data, **_who(request))
        return Response({"partner": PartnerSerializer(created.partner).data, "hmac_key": created.key}, status=201)

    @extend_schema(request=PartnerUpdateSerializer, responses={200: PartnerSerializer})
    def partial_update(self, request, pk=None):
        self._admin()
        data = PartnerUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        partner = services.partner_update(partner_id=int(pk), **data.validated_data, **_who(request))
        return Response(PartnerSerializer(partner).data)

    @extend_schema(request=PartnerStatusSerializer, responses={200: PartnerSerializer})
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        """Suspend, reactivate or revoke (revoking cancels open shares to it)."""
        self._admin()
        data = PartnerStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        partner = services.partner_set_status(partner_id=int(pk), **data.validated_data, **_who(request))
        return Response(PartnerSerializer(partner).data)

    @extend_schema(request=RotateKeySerializer, responses={200: _KEY_ONCE})
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request, pk=None):
        self._admin()
        data = RotateKeySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rotated = services.partner_rotate_key(partner_id=int(pk), hmac_key=data.validated_data["hmac_key"],
                                              **_who(request))
        return Response({"partner": PartnerSerializer(rotated.partner).data, "hmac_key": rotated.key})


class FeatureTagApi(APIView):
    """This platform's own feature tag (what it speaks, studies and accepts)."""

    permission_classes = [HasTenantRole(*STAFF_ROLES)]

    @extend_schema(responses=inline_serializer("FeatureTag", {
        "protocols": serializers.ListField(child=serializers.CharField()), "fhir_version": serializers.CharField(),
        "research_focus": serializers.ListField(child=serializers.CharField()),
        "data_categories": serializers.ListField(child=serializers.CharField()), "text": serializers.CharField()}))
    def get(self, request):
        return Response(platform_feature_tag().as_dict())


# --- decisions and shares -------------------------------------------------------------------------


def reasons_explained(reasons: list) -> list[dict]:
    return [{**reason, "message": str(reason.get("message") or services.REASON_MESSAGES.get(reason.get("code"), ""))}
            for reason in reasons or []]


class ShareBriefSerializer(serializers.ModelSerializer):
    partner = serializers.CharField(source="partner.code")

    class Meta:
        model = OutboundShare
        fields = ["id", "share_id", "version", "partner", "status", "status_reason", "attempts", "delivered_at"]


class DecisionSerializer(serializers.ModelSerializer):
    reasons = serializers.SerializerMethodField()
    shares = ShareBriefSerializer(many=True, read_only=True)
    case_code = serializers.CharField(source="case.icd10_code")
    actor = serializers.CharField(source="actor.username", default="")

    class Meta:
        model = ShareDecision
        fields = ["id", "case", "case_code", "trigger", "actor", "first_index", "second_index", "range_low",
                  "range_high", "decided_by", "matched_partners", "outcome", "reasons", "inputs", "shares",
                  "created_at"]

    def get_reasons(self, decision) -> list[dict]:
        return reasons_explained(decision.reasons)


class DecisionViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every decision to share or not, with its inputs and reasons (?case, ?outcome)."""

    audit_object_type = "share_decision"
    audit_patient_field = "case.patient_id"
    permission_classes = [HasTenantRole(*OVERSIGHT)]
    serializer_class = DecisionSerializer
    lookup_value_regex = r"\d+"
    filterset_fields = ["case", "outcome", "decided_by"]

    def get_queryset(self):
        return decision_list()


class ShareSerializer(serializers.ModelSerializer):
    partner = serializers.CharField(source="partner.code")
    partner_name = serializers.CharField(source="partner.name")
    case_code = serializers.CharField(source="case.icd10_code")
    reviewed_by = serializers.CharField(source="reviewed_by.username", default="")

    class Meta:
        model = OutboundShare
        fields = ["id", "share_id", "version", "origin", "decision", "case", "case_code", "partner", "partner_name",
                  "status",
                  "status_reason", "approval_required", "reviewed_by", "reviewed_at", "review_note",
                  "data_categories", "attempts", "last_status_code", "last_error", "partner_record_id",
                  "payload_sha256", "created_at", "queued_at", "next_attempt_at", "delivered_at", "closed_at"]


class ShareDetailSerializer(ShareSerializer):
    payload = serializers.JSONField(source="payload_json")
    attempt_log = serializers.SerializerMethodField()

    class Meta(ShareSerializer.Meta):
        fields = [*ShareSerializer.Meta.fields, "payload", "attempt_log"]

    def get_attempt_log(self, share) -> list[dict]:
        return [{"number": a.number, "started_at": a.started_at, "duration_ms": round(a.duration_ms, 1),
                 "status_code": a.status_code, "error_code": a.error_code, "outcome": a.outcome}
                for a in share.attempt_log.all()]


class ReviewSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class ShareViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The share log (?status, ?partner, ?case); a share's page holds the de-identified
    Bundle exactly as sent (or as it would be, once approved) and every attempt."""

    audit_object_type = "outbound_share"
    audit_patient_field = "patient_id"
    permission_classes = [HasTenantRole(*OVERSIGHT)]
    lookup_value_regex = r"\d+"
    filterset_fields = ["status", "partner", "case"]
    ordering_fields = ["created_at", "delivered_at"]

    def get_queryset(self):
        return share_list()

    def get_serializer_class(self):
        return ShareDetailSerializer if self.action == "retrieve" else ShareSerializer

    def _review(self, request, pk, service):
        data = ReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.get_object()  # 404 (audited) for another hospital's share
        share = service(share_pk=pk, note=data.validated_data["note"], **_who(request))
        return Response(ShareSerializer(share_list().get(pk=share.pk)).data)

    @extend_schema(request=ReviewSerializer, responses={200: ShareSerializer, 403: OpenApiResponse(
        description="permission_denied, consent_required"), 409: OpenApiResponse(
        description="share_not_awaiting_approval, partner_unavailable, k_anonymity_blocked")})
    @action(detail=True, methods=["post"], permission_classes=[HasTenantRole(Role.COMPLIANCE_OFFICER)])
    def approve(self, request, pk=None):
        return self._review(request, pk, services.share_approve)

    @extend_schema(request=ReviewSerializer, responses={200: ShareSerializer})
    @action(detail=True, methods=["post"], permission_classes=[HasTenantRole(Role.COMPLIANCE_OFFICER)])
    def reject(self, request, pk=None):
        return self._review(request, pk, services.share_reject)


class CaseDecideApi(APIView):
    """Decide again for one rare case of this hospital (after a settings change, a
    partner joining, a consent granted)."""

    permission_classes = [HasTenantRole(*OVERSIGHT)]

    @extend_schema(request=None, responses={201: DecisionSerializer})
    def post(self, request, case_id: int):
        decision = services.rare_case_share_decide(case_id=case_id, trigger=ShareDecision.Trigger.MANUAL,
                                                   **_who(request))
        return Response(DecisionSerializer(decision_list().get(pk=decision.pk)).data, status=201)


# --- what partners shared with us -------------------------------------------------------------------


class ExternalCaseSerializer(serializers.ModelSerializer):
    partner = serializers.CharField(source="partner.code")
    partner_name = serializers.CharField(source="partner.name")

    class Meta:
        model = ExternalRareCase
        fields = ["id", "partner", "partner_name", "share_id", "version", "icd10_code", "diagnosis_text", "category",
                  "pseudonym", "sex", "age_band", "region", "observations", "matches_our_focus", "received_at",
                  "updated_at"]


class ExternalCaseDetailSerializer(ExternalCaseSerializer):
    class Meta(ExternalCaseSerializer.Meta):
        fields = [*ExternalCaseSerializer.Meta.fields, "bundle"]


class ExternalCaseViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """Rare cases partners shared with this platform, de-identified (?icd10 prefix, ?partner)."""

    audit_object_type = "external_rare_case"
    permission_classes = [HasTenantRole(*STAFF_ROLES)]
    lookup_value_regex = r"\d+"
    filterset_fields = ["partner", "matches_our_focus"]

    def get_queryset(self):
        return external_case_list(icd10_prefix=self.request.query_params.get("icd10", "")[:10])

    def get_serializer_class(self):
        return ExternalCaseDetailSerializer if self.action == "retrieve" else ExternalCaseSerializer


# --- inbound ---------------------------------------------------------------------------------------------


class PartnerInboundThrottle(SimpleRateThrottle):
    """Inbound shares per claimed partner and client address (rate `partner_inbound`).
    The partner id is not yet verified when throttling runs, so the bucket is the pair:
    someone sending under another partner's id only spends their own address's quota."""

    scope = "partner_inbound"

    def get_cache_key(self, request, view):
        partner = request.headers.get("X-Partner-Id", "")[:64]
        return self.cache_format % {"scope": self.scope, "ident": f"{partner}|{self.get_ident(request)}"}


class InboundShareApi(APIView):
    """A partner shares a rare case with us: a signed FHIR Bundle (see
    apps/partners/signing.py for the headers). 201 stored, 200 the share was stored
    before (a retry: the stored record is returned, status duplicate) or a newer
    version (Bundle.meta.versionId) replaced it (status updated); 400 bundle_invalid,
    timestamp_invalid, nonce_invalid, idempotency_key_invalid; 401 partner_unknown,
    signature_missing, signature_invalid, timestamp_stale; 403 partner_revoked,
    partner_suspended; 409 replay, idempotency_conflict (same version, another body),
    version_outdated (a newer version is stored); 413 payload_too_large;
    415 unsupported_media_type; 429 rate_limited (more than the `partner_inbound` rate
    from one partner id and address). Nothing is written unless the share is stored."""

    authentication_classes = []  # the signature is the authentication
    permission_classes = [AllowAny]
    throttle_classes = [PartnerInboundThrottle]

    @extend_schema(request={"application/fhir+json": dict}, auth=[], responses={
        201: inline_serializer("InboundAck", {"id": serializers.CharField(), "share_id": serializers.UUIDField(),
                                              "version": serializers.IntegerField(),
                                              "status": serializers.CharField()}),
        200: OpenApiResponse(description="already stored (a retry: duplicate) or a newer version stored (updated)")})
    def post(self, request):
        from apps.configuration.selectors import setting_value

        content_type = (request.content_type or "").split(";")[0].strip()
        try:
            if content_type not in ("application/fhir+json", "application/json"):
                raise services.InboundRefused(415, "unsupported_media_type",
                                              _("Send the Bundle as application/fhir+json."))
            limit = int(setting_value("partners.inbound_max_bytes"))
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                raise services.InboundRefused(413, "payload_too_large", _("The share is larger than this platform "
                                                                          "accepts."))
            try:
                body = request._request.body
            except RequestDataTooBig:
                raise services.InboundRefused(413, "payload_too_large", _("The share is larger than this platform "
                                                                          "accepts.")) from None
            if len(body) > limit:
                raise services.InboundRefused(413, "payload_too_large", _("The share is larger than this platform "
                                                                          "accepts."))
            result = services.inbound_share_receive(headers=request.headers, body=body)
        except services.InboundRefused as refused:
            audit_record(action="partners.inbound_refused", hospital_id=None, outcome=(
                AuditOutcome.DENIED if refused.status_code in (401, 403) else AuditOutcome.INVALID),
                object_type="sharing_partner", object_id=request.headers.get("X-Partner-Id", "")[:64],
                detail={"code": refused.code, "status": refused.status_code})
            return Response(error_body(refused.code, refused.message, refused.fields), status=refused.status_code)
        return Response({"id": str(result.case.pk), "share_id": str(result.case.share_id),
                         "version": result.case.version, "status": result.outcome,
                         "received_at": result.case.received_at, "updated_at": result.case.updated_at},
                        status=201 if result.created else 200)
