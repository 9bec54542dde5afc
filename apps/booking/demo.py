"""Demo experts and a week of published sessions for `manage.py seed_demo`."""

import datetime

from django.utils import timezone

from apps.core.demo_data import DEMO_EXPERTS
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Department
from apps.tenancy.roles import Role

from .hospital_services import expert_save, schedule_create
from .models import Expert, Schedule

DEMO_DAYS = 7


def demo_booking_seed(*, hospital, admin) -> tuple[int, int]:
    """Experts (once) and morning sessions for the next week (those missing).
    Returns (experts, new sessions). Idempotent."""
    created_sessions = 0
    with tenant_context(hospital.pk):
        departments = {department.code: department for department in Department.objects.all()}
        for name, title, code, specialties, introduction in DEMO_EXPERTS:
            expert = Expert.objects.filter(name=name).first()
            if expert is None and code in departments:
                expert = expert_save(actor=admin, role=Role.HOSPITAL_ADMIN, hospital_id=hospital.pk,
                                     department_id=departments[code].pk, name=name, title=title,
                                     specialties=specialties, introduction=introduction)
            if expert is None:
                continue
            for offset in range(1, DEMO_DAYS + 1):
                day = timezone.localdate() + datetime.timedelta(days=offset)
                if day.weekday() < 6 and not Schedule.objects.filter(expert=expert, date=day).exists():
                    schedule_create(actor=admin, role=Role.HOSPITAL_ADMIN, expert=expert, date=day,
                                    period=Schedule.Period.MORNING, slot_minutes=30, capacity=5)
                    created_sessions += 1
        return Expert.objects.count(), created_sessions
