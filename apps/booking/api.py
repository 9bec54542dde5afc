"""The booking API (the contract other clients depend on is in docs/booking.md)."""

import datetime
import re

from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from apps.core.exceptions import DomainError, NotFoundError
from apps.core.pagination import StandardPagination
from apps.patients.api import mask_identifier
from apps.patients.validators import national_id_problem
from apps.privacy.audit import AuditedViewMixin
from apps.tenancy.permissions import HasTenantRole, tenant_of
from apps.tenancy.roles import Role

from .models import Appointment, Expert, WaitlistEntry
from .rules import booking_rules
from .selectors import (CATALOGUE_MATCH_CAP, CATALOGUE_MAX_DAYS, appointments_of_user, catalogue_count,
                        catalogue_expert, catalogue_expert_slots, catalogue_experts, catalogue_page, public_catalogue,
                        waitlist_of_user)
from .services import (PatientDetails, appointment_book, appointment_cancel, appointment_get_for_user,
                       waitlist_accept, waitlist_join, waitlist_leave, waitlist_position)
from .voucher import voucher_qr_data_url

_NATIONAL_ID_MESSAGES = {
    "format": _("A national ID number has 17 digits followed by a digit or X."),
    "birth_date": _("The birth date inside this national ID number is not a real date."),
    "checksum": _("This national ID number's check digit is wrong; check for a typing mistake."),
}
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


# --- catalogue ---------------------------------------------------------------------------------


class ExpertFilterSerializer(serializers.Serializer):
    hospital = serializers.SlugField(required=False)
    department = serializers.IntegerField(required=False, min_value=1)
    title = serializers.ChoiceField(choices=Expert.Title.choices, required=False)
    date = serializers.DateField(required=False)
    q = serializers.CharField(required=False, max_length=100, allow_blank=True)


class CatalogueHospitalSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class CatalogueDepartmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class NextFreeSlotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    start = serializers.DateTimeField()


class ExpertOutputSerializer(serializers.Serializer):
    """An expert of the public catalogue."""

    # The fields describe the answer (schema, docs); `to_representation` writes it
    # from an expert of `selectors.catalogue_page` directly: this is the busiest answer
    # of the API, and DRF's generic per-field path cost more CPU than the page's
    # queries. A test keeps the two equal.

    id = serializers.IntegerField()
    name = serializers.CharField()
    title = serializers.ChoiceField(choices=Expert.Title.choices)
    title_display = serializers.CharField()
    hospital = CatalogueHospitalSerializer()
    department = CatalogueDepartmentSerializer()
    specialties = serializers.CharField()
    introduction = serializers.CharField()
    photo = serializers.CharField(allow_null=True, help_text=_("URL of the expert's photo."))
    next_free_slot = NextFreeSlotSerializer(
        allow_null=True, help_text=_("The expert's next slot with a free place (on `date` when the search has one)."))

    @cached_property
    def _title_labels(self) -> dict[str, str]:
        # Translated once per answer (with many=True one instance writes every row).
        return {value: str(label) for value, label in Expert.Title.choices}

    def to_representation(self, expert: Expert) -> dict:
        free_slot = expert.next_free_slot_id
        return {
            "id": expert.pk, "name": expert.name, "title": expert.title,
            "title_display": self._title_labels.get(expert.title, expert.title),
            "hospital": {"slug": expert.hospital.slug, "name": expert.hospital.name},
            "department": {"id": expert.department_id, "name": expert.department.name},
            "specialties": expert.specialties, "introduction": expert.introduction,
            "photo": expert.photo.url if expert.photo else None,
            # Written like the slots answer's times.
            "next_free_slot": None if free_slot is None else {"id": free_slot,
                                                              "start": expert.next_free_slot_start.isoformat()},
        }


class _CataloguePaginator(Paginator):
    """Counts matches in the database, at most CATALOGUE_MATCH_CAP + 1; a page is a
    slice of the ordered queryset."""

    @cached_property
    def count(self) -> int:
        return catalogue_count(self.object_list)

    @property
    def count_capped(self) -> bool:
        return self.count > CATALOGUE_MATCH_CAP


class CataloguePagination(StandardPagination):
    django_paginator_class = _CataloguePaginator

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count"] = min(self.page.paginator.count, CATALOGUE_MATCH_CAP)
        return response


class CatalogueExpertViewSet(viewsets.GenericViewSet):
    """The public catalogue: experts of every hospital. Anyone may read it."""

    permission_classes = [AllowAny]
    serializer_class = ExpertOutputSerializer
    pagination_class = CataloguePagination
    filter_backends = []
    queryset = Expert.objects.none()  # for the schema's id type; reads go through public_catalogue()
    lookup_value_regex = r"\d+"

    def _actor(self):
        return self.request.user if self.request.user.is_authenticated else None

    @extend_schema(parameters=[ExpertFilterSerializer])
    def list(self, request):
        filters = ExpertFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        with public_catalogue(actor=self._actor()):
            experts = catalogue_page(catalogue_experts(**filters.validated_data),
                                     date=filters.validated_data.get("date"))
            data = ExpertOutputSerializer(self.paginate_queryset(experts), many=True).data
        return self.get_paginated_response(data)

    @extend_schema(
        parameters=[OpenApiParameter("date_from", datetime.date), OpenApiParameter("date_to", datetime.date)],
        responses=inline_serializer("Slot", {"id": serializers.IntegerField(), "start": serializers.DateTimeField(),
                                             "end": serializers.DateTimeField(),
                                             "capacity": serializers.IntegerField(),
                                             "remaining": serializers.IntegerField()}, many=True))
    @action(detail=True, methods=["get"])
    def slots(self, request, pk=None):
        dates = SlotRangeSerializer(data=request.query_params)
        dates.is_valid(raise_exception=True)
        with public_catalogue(actor=self._actor()):
            expert = catalogue_expert(expert_id=int(pk)) if str(pk).isdigit() else None
            if expert is None:
                raise NotFoundError(str(_("No such expert.")), code="not_found")
            rows = catalogue_expert_slots(expert_id=expert.pk, **dates.validated_data)
        return Response({"expert": expert.pk, "hospital": expert.hospital.slug, "results": rows})


class SlotRangeSerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs):
        date_from = attrs.get("date_from") or timezone.localdate()
        date_to = attrs.get("date_to") or date_from + datetime.timedelta(days=14)
        if date_to < date_from:
            raise serializers.ValidationError({"date_to": [_("date_to must not be before date_from.")]})
        if (date_to - date_from).days > CATALOGUE_MAX_DAYS:
            raise serializers.ValidationError(
                {"date_to": [_("Ask for at most %(n)s days at a time.") % {"n": CATALOGUE_MAX_DAYS}]})
        return {"date_from": date_from, "date_to": date_to}


# --- appointments --------------------------------------------------------------------------------


class PatientDetailsSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    national_id = serializers.CharField(max_length=18, min_length=18, error_messages={
        "min_length": _("A national ID number has 18 characters."),
        "max_length": _("A national ID number has 18 characters.")})
    phone = serializers.RegexField(r"^\+?\d{6,15}$", required=False, allow_blank=True, default="",
                                   error_messages={"invalid": _("Give a phone number of 6 to 15 digits.")})

    def validate_national_id(self, value):
        value = value.strip().upper()
        problem = national_id_problem(value)
        if problem:
            raise serializers.ValidationError(_NATIONAL_ID_MESSAGES[problem], code=f"national_id_{problem}")
        return value


class BookInputSerializer(serializers.Serializer):
    slot = serializers.IntegerField(min_value=1)
    patient = PatientDetailsSerializer()


class AppointmentOutputSerializer(serializers.ModelSerializer):
    """The voucher: when, where, with whom, the visit number and (on one
    appointment) the QR code for check-in."""

    status_display = serializers.CharField(source="get_status_display")
    hospital = serializers.SerializerMethodField()
    department = serializers.SerializerMethodField()
    expert = serializers.SerializerMethodField()
    patient = serializers.SerializerMethodField()
    cancellation_deadline = serializers.SerializerMethodField()
    qr = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = ["id", "voucher_code", "status", "status_display", "visit_number", "date", "start", "end",
                  "hospital", "department", "expert", "patient", "cancellation_deadline", "booked_at", "qr"]

    def get_hospital(self, appointment) -> dict:
        return {"slug": appointment.hospital.slug, "name": appointment.hospital.name}

    def get_department(self, appointment) -> str:
        return appointment.expert.department.name

    def get_expert(self, appointment) -> dict:
        expert = appointment.expert
        return {"id": expert.pk, "name": expert.name, "title": expert.title, "title_display": expert.get_title_display()}

    def get_patient(self, appointment) -> dict:
        return {"name": appointment.patient.name, "national_id": mask_identifier(appointment.patient.national_id)}

    def get_cancellation_deadline(self, appointment) -> str | None:
        rules = self.context.get("rules")
        return rules.cancellation_deadline(appointment.date).isoformat() if rules else None

    def get_qr(self, appointment) -> str | None:
        # Only on one appointment (booking, detail): a list need not draw every code.
        return voucher_qr_data_url(appointment.voucher_code) if self.context.get("with_qr") else None


def _idempotency_key(request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if key and not _IDEMPOTENCY_KEY.match(key):
        raise DomainError(str(_("An Idempotency-Key has 8 to 64 letters, digits or . _ : -")),
                          code="invalid", fields={"Idempotency-Key": [str(_("Malformed key."))]})
    return key


class _ActionAuditMixin(AuditedViewMixin):
    def audit_action_name(self) -> str:
        # Refused cancels and accepts are audited as what they tried, not as "post".
        if getattr(self, "action", None) in ("cancel", "accept", "leave"):
            return f"{self.audit_object_type}.{self.action}"
        return super().audit_action_name()


class AppointmentViewSet(_ActionAuditMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    """The caller's own appointments at the current hospital."""

    audit_object_type = "appointment"
    audit_patient_field = "patient_id"
    permission_classes = [HasTenantRole(Role.PATIENT)]
    serializer_class = AppointmentOutputSerializer
    filter_backends = []
    queryset = Appointment.objects.none()  # for the schema; get_queryset scopes to the caller
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return appointments_of_user(user=self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "rules": booking_rules(),
                "with_qr": self.action in ("retrieve", "create")}

    @extend_schema(request=BookInputSerializer, responses={201: AppointmentOutputSerializer},
                   parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)])
    def create(self, request):
        data = BookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = tenant_of(request)
        details = PatientDetails(**data.validated_data["patient"])
        appointment = appointment_book(user=request.user, role=tenant.role, hospital_id=tenant.hospital_id,
                                       slot_id=data.validated_data["slot"], details=details,
                                       idempotency_key=_idempotency_key(request))
        appointment = appointment_get_for_user(user=request.user, appointment_id=appointment.pk)
        return Response(self.get_serializer(appointment).data, status=201)

    @extend_schema(request=None, responses={200: AppointmentOutputSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        if not str(pk).isdigit():
            raise NotFoundError(str(_("No such appointment.")), code="not_found")
        tenant = tenant_of(request)
        appointment = appointment_cancel(user=request.user, role=tenant.role, appointment_id=int(pk))
        appointment = appointment_get_for_user(user=request.user, appointment_id=appointment.pk)
        return Response(self.get_serializer(appointment).data)


# --- waitlist --------------------------------------------------------------------------------------


class WaitlistOutputSerializer(serializers.ModelSerializer):
    position = serializers.SerializerMethodField()
    slot = serializers.SerializerMethodField()

    class Meta:
        model = WaitlistEntry
        fields = ["id", "status", "position", "slot", "created_at", "offered_at", "offer_expires_at", "appointment"]

    def get_position(self, entry) -> int | None:
        return waitlist_position(entry)

    def get_slot(self, entry) -> dict:
        return {"id": entry.slot_id, "start": entry.slot.start, "end": entry.slot.end,
                "expert": entry.slot.expert_id}


class WaitlistViewSet(_ActionAuditMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Join a full slot's waitlist, accept an offered place, leave."""

    audit_object_type = "waitlist_entry"
    audit_patient_field = "patient_id"
    permission_classes = [HasTenantRole(Role.PATIENT)]
    serializer_class = WaitlistOutputSerializer
    filter_backends = []
    queryset = WaitlistEntry.objects.none()  # for the schema; get_queryset scopes to the caller
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return waitlist_of_user(user=self.request.user)

    def _entry_id(self, pk) -> int:
        if not str(pk).isdigit():
            raise NotFoundError(str(_("No such waitlist entry.")), code="not_found")
        return int(pk)

    @extend_schema(request=BookInputSerializer, responses={201: WaitlistOutputSerializer})
    def create(self, request):
        data = BookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = tenant_of(request)
        entry = waitlist_join(user=request.user, role=tenant.role, hospital_id=tenant.hospital_id,
                              slot_id=data.validated_data["slot"],
                              details=PatientDetails(**data.validated_data["patient"]))
        return Response(WaitlistOutputSerializer(entry).data, status=201)

    @extend_schema(request=None, responses={201: AppointmentOutputSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        tenant = tenant_of(request)
        appointment = waitlist_accept(user=request.user, role=tenant.role, entry_id=self._entry_id(pk),
                                      idempotency_key=_idempotency_key(request))
        appointment = appointment_get_for_user(user=request.user, appointment_id=appointment.pk)
        context = {"request": request, "rules": booking_rules(), "with_qr": True}
        return Response(AppointmentOutputSerializer(appointment, context=context).data, status=201)

    @extend_schema(request=None, responses={200: WaitlistOutputSerializer})
    @action(detail=True, methods=["post"])
    def leave(self, request, pk=None):
        tenant = tenant_of(request)
        entry = waitlist_leave(user=request.user, role=tenant.role, entry_id=self._entry_id(pk))
        return Response(WaitlistOutputSerializer(entry).data)

