"""Shared by the restarted-worker test and bench/reminders_dispatch.py: a hospital
full of patients with WeChat accounts and one dose each due now, real Celery worker
subprocesses, and the count of what the fake WeChat received."""

import collections
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from apps.accounts.models import WeChatAccount
from apps.patients.models import Patient
from apps.reminders.models import Dose, MedicationPlan
from apps.tenancy.context import tenant_context

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "medication-reminder"


@dataclass
class Population:
    hospital_id: int
    dose_ids: list[int]
    openids: list[str]


def populate(*, hospital, count: int, app_id: str, batch: int = 5000) -> Population:
    """`count` patients, each with a WeChat account, a plan and one dose due now.
    Bulk inserts: this is the test's "given", not the behaviour under test."""
    User = get_user_model()
    tag = f"h{hospital.pk}"
    dose_ids, openids = [], []
    now = timezone.now()
    for start in range(0, count, batch):
        size = min(batch, count - start)
        users = User.objects.bulk_create([User(username=f"rem-{tag}-{start + i}") for i in range(size)])
        users = list(User.objects.filter(username__in=[user.username for user in users]).order_by("pk"))
        accounts = [WeChatAccount(user=user, app_id=app_id, openid=f"o-{tag}-{user.pk}") for user in users]
        WeChatAccount.objects.bulk_create(accounts)
        openids += [account.openid for account in accounts]
        with tenant_context(hospital.pk):
            patients = Patient.objects.bulk_create([
                Patient(hospital_id=hospital.pk, name=f"患者{start + i}", user=user,
                        medical_record_number=f"B{tag}-{start + i}") for i, user in enumerate(users)])
            plans = MedicationPlan.objects.bulk_create([
                MedicationPlan(hospital_id=hospital.pk, patient=patient, drug_name="二甲双胍", dose="500 mg",
                               times=["08:00"], start_date=now.date(), notes="饭后服用") for patient in patients])
            doses = Dose.objects.bulk_create([
                Dose(hospital_id=hospital.pk, plan=plan, patient=plan.patient, scheduled_at=now, remind_at=now)
                for plan in plans])
        dose_ids += [dose.pk for dose in doses]
    return Population(hospital_id=hospital.pk, dose_ids=dose_ids, openids=openids)


def worker_environment(*, wechat_base_url: str, app_id: str, app_secret: str) -> dict:
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "hospital_platform.settings.test",
            "WECHAT_API_BASE_URL": wechat_base_url, "WECHAT_APP_ID": app_id, "WECHAT_APP_SECRET": app_secret,
            "WECHAT_TIMEOUT_SECONDS": "10", "LOG_LEVEL": "WARNING"}


def start_worker(*, queue: str, env: dict, log_path: Path | None = None, processes: int = 1) -> subprocess.Popen:
    """A real `celery worker` process: the solo pool (one task at a time in one process)
    or, with `processes` > 1, the prefork pool with that many child processes."""
    output = open(log_path, "ab") if log_path else subprocess.DEVNULL
    pool = ["--pool", "solo"] if processes == 1 else ["--pool", "prefork", "--concurrency", str(processes)]
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hospital_platform", "worker", "-Q", queue, *pool,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING",
         "-n", f"reminders-{queue}-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=output, stderr=output)


def sent_counts(fake) -> collections.Counter:
    """dose id -> how many WeChat messages the fake received for it."""
    with fake._lock:
        pages = [message["page"] for message in fake.sent]
    return collections.Counter(int(page.rsplit("=", 1)[1]) for page in pages)


def tally(population: Population, fake) -> dict:
    counts = sent_counts(fake)
    with tenant_context(population.hospital_id):
        states = collections.Counter(Dose.objects.filter(pk__in=population.dose_ids)
                                     .values_list("dispatch_state", flat=True))
        unknown = set(Dose.objects.filter(pk__in=population.dose_ids, wechat_result=Dose.WeChatResult.UNKNOWN)
                      .values_list("pk", flat=True))
    wanted = set(population.dose_ids)
    return {
        "doses": len(wanted),
        "wechat_messages": sum(counts.values()),
        "duplicates": sorted(dose for dose, n in counts.items() if n > 1),
        "missed": sorted(wanted - set(counts)),
        "unknown": sorted(unknown),
        "states": dict(states),
    }
