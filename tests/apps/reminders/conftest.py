"""Patients with their own accounts, a doctor, and helpers to put doses in the past."""

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from apps.accounts.models import ApiToken, WeChatAccount
from apps.accounts.services import token_issue
from apps.patients.services import patient_create
from apps.reminders.models import Dose
from apps.reminders.services import plan_create
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from rest_framework.test import APIClient
from tests.factories import member_of


def wechat_client(user) -> APIClient:
    """Patients use the mini program: a WeChat-kind bearer token."""
    raw, _token = token_issue(user=user, kind=ApiToken.Kind.WECHAT)
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")


@dataclass
class PatientAccount:
    user: object
    patient: object

    @property
    def client(self) -> APIClient:
        return wechat_client(self.user)


def make_patient(hospital, name="王芳", openid: str | None = None) -> PatientAccount:
    user = member_of(hospital, Role.PATIENT)
    patient = patient_create(hospital_id=hospital.pk, name=name, user=user)
    if openid:
        WeChatAccount.objects.create(user=user, app_id="wx-test-app", openid=openid)
    return PatientAccount(user=user, patient=patient)


@pytest.fixture
def patient_a(hospital_a):
    return make_patient(hospital_a, "王芳", openid="o-wangfang")


@pytest.fixture
def other_patient_a(hospital_a):
    return make_patient(hospital_a, "李强", openid="o-liqiang")


def a_plan(patient, *, times=("08:00", "20:00"), drug="二甲双胍", supply=None, **extra):
    today = timezone.now().date()
    return plan_create(patient=patient, actor=None, role="", drug_name=drug, dose="500 mg", times=list(times),
                       start_date=today, end_date=today + datetime.timedelta(days=30), notes="饭后半小时",
                       supply_remaining=supply, **extra)


def due_dose(plan, *, minutes_ago: float, index: int = 0) -> Dose:
    """Given: a dose of `plan` that was due `minutes_ago` minutes ago (created if the
    plan has too few)."""
    at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    with tenant_context(plan.hospital_id):
        doses = list(Dose.objects.filter(plan=plan).order_by("scheduled_at"))
        if index < len(doses):
            dose = doses[index]
            Dose.objects.filter(pk=dose.pk).update(scheduled_at=at, remind_at=at)
        else:
            dose = Dose.objects.create(hospital_id=plan.hospital_id, plan=plan, patient_id=plan.patient_id,
                                       scheduled_at=at, remind_at=at)
        dose.refresh_from_db()
    return dose
