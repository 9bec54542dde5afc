"""/api/v1/reminders/: plans, doses (with actions to mark and snooze) and family access.

Patients see their own plans and doses, and those of patients who invited them as
family (read only); clinical staff see the hospital's. Reads are audited by the
mixin, writes by the services."""

import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from apps.core.exceptions import DomainError
from apps.patients.models import Patient
from apps.privacy.audit import AuditedViewMixin
from apps.privacy.services import audit_record
from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import Role

from . import schedule, selectors, services
from .models import SHANGHAI, Dose, DoseEvent, FamilyAccess, MedicationPlan

PEOPLE = HasTenantRole(Role.PATIENT, Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN)


class PlanOutputSerializer(serializers.ModelSerializer):
    adherence = serializers.SerializerMethodField()
    supply_days_left = serializers.SerializerMethodField()

    class Meta:
        model = MedicationPlan
        fields = ["id", "patient", "drug_name", "dose", "times", "timezone", "kind", "start_date", "end_date", "notes",
                  "source", "prescription_reference", "units_per_dose", "supply_remaining", "supply_days_left",
                  "refill_reminded_at", "active", "reminder_channel", "reminder_channel_since", "adherence",
                  "created_at"]

    def get_adherence(self, plan) -> dict:
        if hasattr(plan, "taken"):
            counts = {key: getattr(plan, key) for key in ("taken", "taken_late", "skipped", "missed")}
            return {**counts, "rate": selectors.adherence_rate(**counts)}
        return selectors.plan_adherence(plan)

    def get_supply_days_left(self, plan) -> float | None:
        days = services.supply_days_left(plan)
        return None if days is None else round(days, 1)


class PlanInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField(required=False)
    drug_name = serializers.CharField(max_length=100)
    dose = serializers.CharField(max_length=50)
    times = serializers.ListField(child=serializers.CharField(max_length=10), allow_empty=False, max_length=200)
    kind = serializers.ChoiceField(choices=MedicationPlan.Kind.choices, default=MedicationPlan.Kind.RECURRING)
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    source = serializers.ChoiceField(choices=MedicationPlan.Source.choices, default=MedicationPlan.Source.MANUAL)
    prescription_reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    units_per_dose = serializers.IntegerField(min_value=1, max_value=100, default=1)
    supply_remaining = serializers.IntegerField(min_value=0, max_value=100_000, required=False, allow_null=True)
    timezone = serializers.CharField(max_length=64, default=SHANGHAI)


class PlanUpdateSerializer(serializers.Serializer):
    dose = serializers.CharField(max_length=50, required=False)
    notes = serializers.CharField(max_length=200, required=False, allow_blank=True)
    end_date = serializers.DateField(required=False, allow_null=True)
    active = serializers.BooleanField(required=False)
    units_per_dose = serializers.IntegerField(min_value=1, max_value=100, required=False)
    supply_remaining = serializers.IntegerField(min_value=0, max_value=100_000, required=False, allow_null=True)


class RefillSerializer(serializers.Serializer):
    units = serializers.IntegerField(min_value=1, max_value=10_000)


class LedgerSerializer(serializers.ModelSerializer):
    class Meta:
        model = DoseEvent
        fields = ["id", "kind", "occurred_at", "dose", "detail"]


class DoseOutputSerializer(serializers.ModelSerializer):
    drug_name = serializers.CharField(source="plan.drug_name", read_only=True)
    dose_amount = serializers.CharField(source="plan.dose", read_only=True)
    notes = serializers.CharField(source="plan.notes", read_only=True)
    due_local = serializers.SerializerMethodField()
    catch_up = serializers.SerializerMethodField()

    class Meta:
        model = Dose
        fields = ["id", "plan", "patient", "drug_name", "dose_amount", "notes", "scheduled_at", "due_local", "status",
                  "marked_at", "snooze_count", "remind_at", "reminder_round", "reminded_at", "wechat_result",
                  "catch_up"]

    def get_due_local(self, dose) -> str:
        return dose.scheduled_at.astimezone(schedule.zone(dose.plan.timezone)).isoformat()

    def get_catch_up(self, dose) -> dict | None:
        return selectors.catch_up_for(dose)


class MarkSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[s.value for s in services.MARKABLE])


class SnoozeSerializer(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=1, max_value=120, required=False)


def _tenant(request):
    return tenant_of(request)


def _require_change(request, patient_id: int) -> None:
    if not selectors.may_change(user=request.user, tenant=_tenant(request), patient_id=patient_id):
        raise PermissionDenied(_("You may view this patient's reminders but not change them."))


class PlanViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    audit_object_type = "medication_plan"
    audit_patient_field = "patient_id"
    permission_classes = [PEOPLE]
    serializer_class = PlanOutputSerializer
    filterset_fields = ["patient", "active"]
    ordering_fields = ["created_at", "drug_name"]

    def get_queryset(self):
        return selectors.adherence_counts(selectors.plans_for(user=self.request.user, tenant=_tenant(self.request)))

    def _patient_for_create(self, requested: int | None) -> Patient:
        tenant = _tenant(self.request)
        if tenant.role == Role.PATIENT:
            own = selectors.own_patients(user=self.request.user)
            patient = own.filter(pk=requested).first() if requested is not None else own.first()
            if patient is None:
                raise PermissionDenied(_("Patients can only plan their own medication."))
            return patient
        patient = Patient.objects.filter(pk=requested).first() if requested is not None else None
        if patient is None:
            raise DomainError(_("Choose a patient of this hospital."), code="invalid",
                              fields={"patient": [_("No such patient at this hospital.")]})
        return patient

    @extend_schema(request=PlanInputSerializer, responses={201: PlanOutputSerializer})
    def create(self, request):
        data = PlanInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        patient = self._patient_for_create(values.pop("patient", None))
        values["timezone_name"] = values.pop("timezone")
        plan = services.plan_create(patient=patient, actor=request.user, role=_tenant(request).role, **values)
        return Response(PlanOutputSerializer(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PlanUpdateSerializer, responses=PlanOutputSerializer)
    def partial_update(self, request, pk=None):
        plan = self.get_object()
        _require_change(request, plan.patient_id)
        data = PlanUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        plan = services.plan_update(plan=plan, actor=request.user, role=_tenant(request).role, **data.validated_data)
        return Response(PlanOutputSerializer(plan).data)

    @extend_schema(request=RefillSerializer, responses=PlanOutputSerializer)
    @action(detail=True, methods=["post"])
    def refill(self, request, pk=None):
        plan = self.get_object()
        _require_change(request, plan.patient_id)
        data = RefillSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = services.plan_refill(plan=plan, units=data.validated_data["units"], actor=request.user,
                                    role=_tenant(request).role)
        return Response(PlanOutputSerializer(plan).data)

    @extend_schema(responses=LedgerSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """The plan's ledger (newest first) and its adherence rate."""
        plan = self.get_object()
        events = selectors.plan_history(plan)
        audit_record(action="medication_plan.history_read", actor=request.user, role=_tenant(request).role,
                     object_type="medication_plan", object_id=plan.pk, patient_id=plan.patient_id)
        return Response({"plan": plan.pk, "adherence": selectors.plan_adherence(plan),
                         "events": LedgerSerializer(events, many=True).data})


class DoseViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    audit_object_type = "dose"
    audit_patient_field = "patient_id"
    permission_classes = [PEOPLE]
    serializer_class = DoseOutputSerializer
    filterset_fields = ["plan", "status", "patient"]
    ordering_fields = ["scheduled_at"]

    def get_queryset(self):
        doses = selectors.doses_for(user=self.request.user, tenant=_tenant(self.request))
        if self.action == "list" and "status" not in self.request.query_params:
            # Without a filter: what matters today, not the whole past.
            doses = doses.filter(scheduled_at__gte=timezone.now() - datetime.timedelta(days=2))
        return doses

    @extend_schema(request=MarkSerializer, responses=DoseOutputSerializer)
    @action(detail=True, methods=["post"])
    def mark(self, request, pk=None):
        dose = self.get_object()
        _require_change(request, dose.patient_id)
        data = MarkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dose = services.dose_mark(dose=dose, status=data.validated_data["status"], actor=request.user,
                                  role=_tenant(request).role)
        return Response(DoseOutputSerializer(dose).data)

    @extend_schema(request=SnoozeSerializer, responses=DoseOutputSerializer)
    @action(detail=True, methods=["post"])
    def snooze(self, request, pk=None):
        dose = self.get_object()
        _require_change(request, dose.patient_id)
        data = SnoozeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dose = services.dose_snooze(dose=dose, minutes=data.validated_data.get("minutes"), actor=request.user,
                                    role=_tenant(request).role)
        return Response(DoseOutputSerializer(dose).data)


class FamilyAccessSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()

    class Meta:
        model = FamilyAccess
        fields = ["id", "patient", "label", "member", "state", "expires_at", "accepted_at", "revoked_at", "created_at"]

    def get_state(self, access) -> str:
        if access.revoked_at:
            return "revoked"
        if access.accepted_at:
            return "active"
        return "expired" if access.expires_at < timezone.now() else "invited"


class InviteSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class AcceptSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32)


class FamilyAccessViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.DestroyModelMixin,
                          viewsets.GenericViewSet):
    """A patient's invitations (and who accepted them), and the patients who invited
    the caller. Only patients use it."""

    audit_object_type = "family_access"
    audit_patient_field = "patient_id"
    permission_classes = [HasTenantRole(Role.PATIENT)]
    serializer_class = FamilyAccessSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return FamilyAccess.objects.none()
        own = selectors.own_patients(user=self.request.user).values_list("pk", flat=True)
        return FamilyAccess.objects.filter(Q(patient_id__in=list(own)) | Q(member=self.request.user))

    @extend_schema(request=InviteSerializer, responses={201: FamilyAccessSerializer})
    def create(self, request):
        data = InviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = selectors.own_patients(user=request.user).first()
        if patient is None:
            raise PermissionDenied(_("Only a patient with a record here can invite family."))
        access, code = services.family_invite(patient=patient, actor=request.user, role=_tenant(request).role,
                                              label=data.validated_data["label"])
        return Response({**FamilyAccessSerializer(access).data, "code": code}, status=status.HTTP_201_CREATED)

    @extend_schema(request=AcceptSerializer, responses={200: FamilyAccessSerializer})
    @action(detail=False, methods=["post"])
    def accept(self, request):
        data = AcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        access = services.family_accept(code=data.validated_data["code"], member=request.user,
                                        role=_tenant(request).role)
        return Response(FamilyAccessSerializer(access).data)

    def destroy(self, request, pk=None):
        access = self.get_object()
        own = selectors.own_patients(user=request.user).filter(pk=access.patient_id).exists()
        if not own and access.member_id != request.user.pk:
            raise PermissionDenied(_("Only the patient or the family member can end this access."))
        services.family_revoke(access=access, actor=request.user, role=_tenant(request).role)
        return Response(status=status.HTTP_204_NO_CONTENT)
