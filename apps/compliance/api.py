"""The compliance API under /api/v1/compliance/. Officers see their own hospital
only: the tenant middleware refuses another hospital (403 hospital_not_allowed),
and every query is scoped again by the hospital and, on PostgreSQL, by RLS."""

import base64
import binascii

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.exceptions import DomainError, NotFoundError
from apps.core.pagination import StandardPagination
from apps.patients.models import Patient
from apps.privacy.services import audit_record
from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import Role

from . import cases as case_services
from .consent import consent_history, consent_record
from .exports import audit_export_create, hospital_chains_verify, manifest_verify
from .models import ConsentPurpose, ConsentRecord, ViolationCase
from .selectors import (audit_events_search, case_get, cases_list, filters_from, monthly_report,
                        patient_access_log)
from .watchlist import patient_watch_set, staff_profile_set

OFFICERS = HasTenantRole(Role.COMPLIANCE_OFFICER)
CONSENT_STAFF = HasTenantRole(Role.COMPLIANCE_OFFICER, Role.DOCTOR, Role.HOSPITAL_ADMIN)


def _who(request):
    return {"actor": request.user, "role": tenant_of(request).role}


def _refuse_other_hospital(request):
    """An officer naming a hospital in the query asks for another hospital's events:
    refuse it explicitly rather than silently answer with their own."""
    asked = request.query_params.get("hospital")
    if asked not in (None, "") and asked not in (str(tenant_of(request).hospital_id), tenant_of(request).hospital.slug):
        audit_record(action="compliance.audit_events_searched", **_who(request), outcome="denied",
                     detail={"asked_hospital": asked[:64]})
        raise DomainError(_("Compliance officers see their own hospital's events only."), code="hospital_not_allowed")


class AuditEventSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    chain = serializers.CharField()
    sequence = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    actor_id = serializers.IntegerField(allow_null=True)
    actor_username = serializers.CharField()
    role = serializers.CharField()
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    patient_id = serializers.IntegerField(allow_null=True)
    ip = serializers.CharField(allow_null=True)
    request_id = serializers.CharField()
    outcome = serializers.CharField()
    detail = serializers.JSONField()


class _EventListApi(APIView):
    permission_classes = [OFFICERS]
    timeline = ""

    def events(self, request, **kwargs):
        """The events this timeline lists, as a queryset: each subclass (search, patient,
        staff timelines) says which; the base class pages, serialises and audits them."""
        raise NotImplementedError(f"{type(self).__name__} must say which events it lists")

    @extend_schema(responses=AuditEventSerializer(many=True))
    def get(self, request, **kwargs):
        _refuse_other_hospital(request)
        queryset = self.events(request, **kwargs)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        audit_record(action="compliance.audit_events_searched", **_who(request), object_type=self.timeline,
                     object_id=next(iter(kwargs.values()), ""), patient_id=kwargs.get("patient_id"),
                     detail={"filters": filters_from(request.query_params).as_dict(), "shown": len(page)})
        return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)


class AuditEventListApi(_EventListApi):
    """Search the hospital's audit events: ?actor, username, patient, action (a
    trailing "." or "*" is a prefix), object_type, object_id, outcome, since, until."""

    def events(self, request):
        return audit_events_search(filters=filters_from(request.query_params))


class PatientTimelineApi(_EventListApi):
    timeline = "patient_timeline"

    def events(self, request, patient_id):
        if not Patient.objects.filter(pk=patient_id).exists():
            raise NotFoundError(_("No such patient at this hospital."))
        from dataclasses import replace
        return audit_events_search(filters=replace(filters_from(request.query_params), patient_id=patient_id))


class StaffTimelineApi(_EventListApi):
    timeline = "staff_timeline"

    def events(self, request, user_id):
        from dataclasses import replace
        return audit_events_search(filters=replace(filters_from(request.query_params), actor_id=user_id))


class AuditExportApi(APIView):
    """Export the filtered events as CSV with a signed manifest."""

    permission_classes = [OFFICERS]

    def post(self, request):
        _refuse_other_hospital(request)
        content, export = audit_export_create(filters=filters_from(request.data), **_who(request))
        return Response({"manifest": export.manifest, "csv": content.decode("utf-8")}, status=201)


class ManifestVerifyInput(serializers.Serializer):
    manifest = serializers.JSONField()
    csv = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    csv_base64 = serializers.CharField(required=False)


class ManifestVerifyApi(APIView):
    permission_classes = [OFFICERS]

    @extend_schema(request=ManifestVerifyInput)
    def post(self, request):
        data = ManifestVerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        content = None
        if "csv_base64" in data.validated_data:
            try:
                content = base64.b64decode(data.validated_data["csv_base64"], validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError({"csv_base64": [_("Not base64.")]}) from None
        elif "csv" in data.validated_data:
            content = data.validated_data["csv"].encode("utf-8")
        return Response(manifest_verify(manifest=data.validated_data["manifest"], content=content, **_who(request)))


class ChainVerifyApi(APIView):
    permission_classes = [OFFICERS]

    def post(self, request):
        results = hospital_chains_verify(**_who(request))
        return Response({"ok": all(r["ok"] for r in results), "chains": results})


class CaseSerializer(serializers.ModelSerializer):
    assignee = serializers.SerializerMethodField()

    class Meta:
        model = ViolationCase
        fields = ["id", "rule", "severity", "status", "resolution", "summary", "subject_user_id", "subject_username",
                  "patient_id", "evidence", "event_ids", "assignee", "opened_at", "first_event_at", "resolved_at"]

    def get_assignee(self, case) -> int | None:
        return case.assignee_id


class CaseListApi(APIView):
    permission_classes = [OFFICERS]

    @extend_schema(responses=CaseSerializer(many=True))
    def get(self, request):
        params = request.query_params
        queryset = cases_list(status=params.get("status", ""), rule=params.get("rule", ""))
        paginator = StandardPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(CaseSerializer(page, many=True).data)


class CaseDetailApi(APIView):
    permission_classes = [OFFICERS]

    def get(self, request, case_id):
        case = case_get(case_id=case_id)
        if case is None:
            raise NotFoundError(_("No such case at this hospital."))
        body = CaseSerializer(case).data
        body["notes"] = [{"author": n.author_id, "text": n.text, "created_at": n.created_at} for n in case.notes.all()]
        audit_record(action="compliance.case_read", **_who(request), object_type="violation_case", object_id=case.pk,
                     patient_id=case.patient_id)
        return Response(body)


class CaseActionInput(serializers.Serializer):
    assignee = serializers.IntegerField(required=False)
    resolution = serializers.ChoiceField(choices=ViolationCase.Resolution.choices, required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class CaseActionApi(APIView):
    """POST .../cases/<id>/<assign|investigate|resolve|note>/"""

    permission_classes = [OFFICERS]

    @extend_schema(request=CaseActionInput, responses=CaseSerializer)
    def post(self, request, case_id, action):
        data = CaseActionInput(data=request.data)
        data.is_valid(raise_exception=True)
        values, who = data.validated_data, _who(request)
        if action == "assign":
            if "assignee" not in values:
                raise ValidationError({"assignee": [_("Required.")]})
            case_services.case_assign(case_id=case_id, assignee_id=values["assignee"], **who)
        elif action == "investigate":
            case_services.case_start_investigation(case_id=case_id, **who)
        elif action == "resolve":
            case_services.case_resolve(case_id=case_id, resolution=values.get("resolution", ""),
                                       note=values.get("note", ""), **who)
        elif action == "note":
            case_services.case_note_add(case_id=case_id, text=values.get("note", ""), **who)
        else:
            raise NotFoundError(_("No such case action."))
        return Response(CaseSerializer(case_get(case_id=case_id)).data)


class MonthlyReportApi(APIView):
    permission_classes = [OFFICERS]

    def get(self, request):
        month = request.query_params.get("month", "")
        report = monthly_report(month=month)
        audit_record(action="compliance.report_read", **_who(request), detail={"month": month})
        return Response(report)


class ConsentInput(serializers.Serializer):
    patient = serializers.IntegerField()
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    decision = serializers.ChoiceField(choices=ConsentRecord.Decision.choices)
    channel = serializers.ChoiceField(choices=ConsentRecord.Channel.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class ConsentOutput(serializers.ModelSerializer):
    class Meta:
        model = ConsentRecord
        fields = ["id", "patient", "purpose", "decision", "channel", "recorded_at", "note"]


class ConsentApi(APIView):
    """GET ?patient=<id>: the history; POST: record a grant or withdrawal. Staff
    record for the hospital's patients; a patient records for their own records."""

    permission_classes = [HasTenantRole(Role.COMPLIANCE_OFFICER, Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PATIENT)]

    def _own_check(self, request, patient_id):
        tenant = tenant_of(request)
        if tenant.role == Role.PATIENT and not Patient.objects.filter(pk=patient_id, user=request.user).exists():
            raise NotFoundError(_("No such patient at this hospital."), code="patient_not_found")

    @extend_schema(responses=ConsentOutput(many=True))
    def get(self, request):
        try:
            patient_id = int(request.query_params.get("patient", ""))
        except ValueError:
            raise ValidationError({"patient": [_("Must be a whole number.")]}) from None
        self._own_check(request, patient_id)
        if not Patient.objects.filter(pk=patient_id).exists():
            raise NotFoundError(_("No such patient at this hospital."), code="patient_not_found")
        audit_record(action="compliance.consent_read", **_who(request), object_type="consent", patient_id=patient_id)
        return Response(ConsentOutput(consent_history(patient_id=patient_id), many=True).data)

    @extend_schema(request=ConsentInput, responses={201: ConsentOutput})
    def post(self, request):
        data = ConsentInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        self._own_check(request, values["patient"])
        record = consent_record(hospital_id=tenant_of(request).hospital_id, patient_id=values["patient"],
                                purpose=values["purpose"], decision=values["decision"], channel=values["channel"],
                                note=values.get("note", ""), **_who(request))
        return Response(ConsentOutput(record).data, status=201)


class MyAccessLogApi(APIView):
    """A patient's own view: who accessed my records (role, department; names when
    the hospital's policy shows them) and when."""

    permission_classes = [HasTenantRole(Role.PATIENT)]

    def get(self, request):
        patient_ids = list(Patient.objects.filter(user=request.user).values_list("pk", flat=True))
        entries = patient_access_log(patient_ids=patient_ids)
        audit_record(action="compliance.own_access_log_read", **_who(request),
                     patient_id=patient_ids[0] if len(patient_ids) == 1 else None, detail={"shown": len(entries)})
        return Response({"results": entries})


class PatientWatchInput(serializers.Serializer):
    vip = serializers.BooleanField()
    address_area = serializers.CharField(required=False, allow_blank=True, max_length=64)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class PatientWatchApi(APIView):
    permission_classes = [HasTenantRole(Role.COMPLIANCE_OFFICER, Role.HOSPITAL_ADMIN)]

    @extend_schema(request=PatientWatchInput)
    def put(self, request, patient_id):
        data = PatientWatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        watch = patient_watch_set(patient_id=patient_id, **data.validated_data, **_who(request))
        return Response({"patient": patient_id, "vip": watch.vip, "address_area": watch.address_area})


class StaffProfileInput(serializers.Serializer):
    surname = serializers.CharField(required=False, allow_blank=True, max_length=20)
    address_area = serializers.CharField(required=False, allow_blank=True, max_length=64)
    work_start_hour = serializers.IntegerField(required=False, allow_null=True)
    work_end_hour = serializers.IntegerField(required=False, allow_null=True)


class StaffProfileApi(APIView):
    permission_classes = [HasTenantRole(Role.COMPLIANCE_OFFICER, Role.HOSPITAL_ADMIN)]

    @extend_schema(request=StaffProfileInput)
    def put(self, request, user_id):
        data = StaffProfileInput(data=request.data)
        data.is_valid(raise_exception=True)
        profile = staff_profile_set(user_id=user_id, **data.validated_data, **_who(request))
        return Response({"user": user_id, "surname": profile.surname, "address_area": profile.address_area,
                         "working_hours": [profile.work_start_hour, profile.work_end_hour]})
