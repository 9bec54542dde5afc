"""The hospital side of booking in the web admin: the day's list with check-in,
sessions (publish, change capacity, stop), experts and statistics.

Each change is a POST answered with a redirect, so the page shows what committed;
a refusal shows the service's message with its HTTP status.
"""

import datetime

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.configuration.views import role_required
from apps.core.exceptions import DomainError
from apps.tenancy.roles import Role

from .forms import CapacityForm, ExpertForm, ScheduleForm, StopForm, VoucherForm, add_service_error
from .hospital_services import (appointment_check_in, appointment_complete, expert_save, schedule_create,
                                schedule_publish, schedule_stop, slot_capacity_change)
from .models import Expert, Schedule
from .selectors import booking_statistics, day_list, schedule_slots, upcoming_schedules

ADMINS = (Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN)
FRONT_DESK = (Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN, Role.DOCTOR)


def _date_param(request, name: str, default: datetime.date) -> datetime.date:
    return parse_date(request.GET.get(name) or "") or default


def _refused(request, error: DomainError) -> None:
    messages.error(request, error.message)


# --- the day --------------------------------------------------------------------------------


@require_GET
@role_required(*FRONT_DESK)
def day_page(request):
    return _render_day(request)


def _render_day(request, voucher_form=None, status=200):
    day = _date_param(request, "date", timezone.localdate())
    expert_id = request.GET.get("expert")
    appointments = list(day_list(date=day, expert_id=int(expert_id) if (expert_id or "").isdigit() else None))
    return render(request, "booking/day.html", {
        "day": day, "previous": day - datetime.timedelta(days=1), "next": day + datetime.timedelta(days=1),
        "appointments": appointments, "voucher_form": voucher_form or VoucherForm(),
        "statistics": booking_statistics(date_from=day, date_to=day),
        "experts": Expert.objects.filter(active=True).order_by("name"), "expert_id": expert_id,
    }, status=status)


def _back_to_day(request, day=None):
    target = reverse("booking_web:day")
    day = day or request.POST.get("date")
    return redirect(f"{target}?date={day}" if day else target)


@require_POST
@role_required(*FRONT_DESK)
def check_in_view(request, appointment_id: int):
    try:
        appointment = appointment_check_in(actor=request.user, role=request.tenant.role, appointment_id=appointment_id)
    except DomainError as error:
        _refused(request, error)
        return _back_to_day(request)
    messages.success(request, _("Visit number %(n)s checked in.") % {"n": appointment.visit_number})
    return _back_to_day(request, appointment.date)


@require_POST
@role_required(*FRONT_DESK)
def check_in_voucher_view(request):
    form = VoucherForm(request.POST)
    if form.is_valid():
        try:
            appointment = appointment_check_in(actor=request.user, role=request.tenant.role,
                                               voucher=form.cleaned_data["voucher"])
        except DomainError as error:
            add_service_error(form, error)
            return _render_day(request, voucher_form=form, status=error.status_code)
        messages.success(request, _("Visit number %(n)s checked in.") % {"n": appointment.visit_number})
        return _back_to_day(request, appointment.date)
    return _render_day(request, voucher_form=form, status=400)


@require_POST
@role_required(*FRONT_DESK)
def complete_view(request, appointment_id: int):
    try:
        appointment = appointment_complete(actor=request.user, role=request.tenant.role, appointment_id=appointment_id)
    except DomainError as error:
        _refused(request, error)
        return _back_to_day(request)
    return _back_to_day(request, appointment.date)


# --- sessions --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@role_required(*ADMINS)
def schedules_page(request):
    status = 200
    if request.method == "POST":
        form = ScheduleForm(request.POST)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                schedule = schedule_create(actor=request.user, role=request.tenant.role, expert=data["expert"],
                                           date=data["date"], period=data["period"], start_time=data["start_time"],
                                           end_time=data["end_time"], slot_minutes=data["slot_minutes"],
                                           capacity=data["capacity"], publish=data["publish"])
            except DomainError as error:
                add_service_error(form, error)
                status = error.status_code
            else:
                messages.success(request, _("Session saved with %(n)s slots.") % {"n": schedule.slots.count()})
                return redirect("booking_web:schedules")
    else:
        form = ScheduleForm(initial={"date": timezone.localdate() + datetime.timedelta(days=1)})
    day = _date_param(request, "from", timezone.localdate())
    return render(request, "booking/schedules.html", {
        "form": form, "schedules": upcoming_schedules(date_from=day), "from": day}, status=status)


def _schedule_or_404(schedule_id: int) -> Schedule:
    schedule = Schedule.objects.select_related("expert__department").filter(pk=schedule_id).first()
    if schedule is None:
        raise Http404
    return schedule


@require_GET
@role_required(*ADMINS)
def schedule_page(request, schedule_id: int):
    return _render_schedule(request, schedule_id)


def _render_schedule(request, schedule_id: int, stop_form=None, status=200):
    schedule = _schedule_or_404(schedule_id)
    return render(request, "booking/schedule.html", {
        "schedule": schedule, "slots": schedule_slots(schedule_id=schedule.pk),
        "stop_form": stop_form or StopForm(), "capacity_form": CapacityForm()}, status=status)


@require_POST
@role_required(*ADMINS)
def schedule_publish_view(request, schedule_id: int):
    try:
        schedule_publish(actor=request.user, role=request.tenant.role, schedule_id=schedule_id)
    except DomainError as error:
        _refused(request, error)
    else:
        messages.success(request, _("Session published."))
    return redirect("booking_web:schedule", schedule_id=schedule_id)


@require_POST
@role_required(*ADMINS)
def schedule_stop_view(request, schedule_id: int):
    form = StopForm(request.POST)
    if form.is_valid():
        try:
            cancelled = schedule_stop(actor=request.user, role=request.tenant.role, schedule_id=schedule_id,
                                      reason=form.cleaned_data["reason"])
        except DomainError as error:
            _refused(request, error)
        else:
            messages.success(request, _("Session stopped; %(n)s bookings cancelled and their patients notified.")
                             % {"n": cancelled})
        return redirect("booking_web:schedule", schedule_id=schedule_id)
    return _render_schedule(request, schedule_id, stop_form=form, status=400)


@require_POST
@role_required(*ADMINS)
def slot_capacity_view(request, slot_id: int):
    form = CapacityForm(request.POST)
    schedule_id = request.POST.get("schedule", "")
    if not form.is_valid():
        messages.error(request, _("Give a capacity between 1 and 500."))
    else:
        try:
            slot_capacity_change(actor=request.user, role=request.tenant.role, slot_id=slot_id,
                                 capacity=form.cleaned_data["capacity"])
        except DomainError as error:
            _refused(request, error)
        else:
            messages.success(request, _("Capacity changed."))
    if schedule_id.isdigit():
        return redirect("booking_web:schedule", schedule_id=int(schedule_id))
    return redirect("booking_web:schedules")


# --- experts and statistics ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@role_required(*ADMINS)
def experts_page(request):
    status = 200
    if request.method == "POST":
        form = ExpertForm(request.POST)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                expert_save(actor=request.user, role=request.tenant.role, hospital_id=request.tenant.hospital_id,
                            department_id=data["department"].pk, name=data["name"], title=data["title"],
                            specialties=data["specialties"], introduction=data["introduction"])
            except DomainError as error:
                add_service_error(form, error)
                status = error.status_code
            else:
                messages.success(request, _("Expert %(name)s saved.") % {"name": data["name"]})
                return redirect("booking_web:experts")
    else:
        form = ExpertForm()
    experts = Expert.objects.select_related("department").order_by("department__name", "title_rank", "name")
    return render(request, "booking/experts.html", {"form": form, "experts": experts}, status=status)


@require_GET
@role_required(*ADMINS)
def statistics_page(request):
    date_to = _date_param(request, "to", timezone.localdate())
    date_from = _date_param(request, "from", date_to - datetime.timedelta(days=29))
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    return render(request, "booking/statistics.html", {
        "statistics": booking_statistics(date_from=date_from, date_to=date_to),
        "date_from": date_from, "date_to": date_to})
