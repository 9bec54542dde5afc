"""Sending dose reminders, each round of each dose once.

    beat, every 10 s: reminders.dispatch_due
        for each hospital: mark due doses queued, send their ids to
        reminders.dispatch_batch in chunks of BATCH_SIZE
    worker: reminders.dispatch_batch(hospital_id, dose_ids)
        for each slice of SLICE_SIZE ids:
          1. claim  (own transaction): pending -> sending, only rows still pending
          2. send   WeChat subscribe messages for the claimed doses, SEND_THREADS at once
          3. record (own transaction): sending -> sent with WeChat's answer, the
             plan's reminder channel, the ledger, the audit event; the in-app
             event goes over /ws/v1/events/ after this commits

Why it is exactly once: a dose round is sent only by the worker whose claim moved it
from pending to sending, so a second beat tick, a duplicated batch or a redelivered
task (acks_late after a worker died) finds it claimed or sent and skips it. The one
step outside the database is WeChat: a worker killed between its claim and its record
leaves at most SLICE_SIZE doses in `sending`. After the dispatch lease, the sweep
records them as sent with WeChat result `unknown` and sends only their in-app
reminder: we never risk a second WeChat reminder for a dose, since a patient told
twice may take it twice.
"""

import datetime
import logging
from concurrent.futures import ThreadPoolExecutor

from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format

from apps.accounts.wechat_subscribe import openid_of, send_subscribe_message
from apps.configuration.selectors import setting_value
from apps.core.exceptions import UpstreamUnavailableError
from apps.privacy.services import audit_record
from apps.realtime.publish import publish_many
from apps.tenancy.context import tenant_context

from . import schedule
from .models import Dose, DoseEvent, MedicationPlan

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
SLICE_SIZE = 64
SEND_THREADS = 32
_pool: ThreadPoolExecutor | None = None


def _threads() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="wechat-send")
    return _pool


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=setting_value("reminders.dispatch_lease_seconds"))


def due_doses_queue(*, hospital_id: int, now=None, limit: int = 500_000) -> list[list[int]]:
    """Mark the hospital's due, unqueued doses queued and return their ids in batches.
    Doses queued longer ago than the lease are queued again (their task was lost);
    dispatching twice is harmless, the claim decides."""
    now = now or timezone.now()
    with tenant_context(hospital_id):
        due = (Dose.objects.filter(dispatch_state=Dose.Dispatch.PENDING, remind_at__lte=now)
               .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - _lease()))
               .order_by("remind_at").values_list("id", flat=True)[:limit])
        ids = list(due)
        for start in range(0, len(ids), 10_000):
            Dose.objects.filter(pk__in=ids[start:start + 10_000]).update(queued_at=now)
    return [ids[start:start + BATCH_SIZE] for start in range(0, len(ids), BATCH_SIZE)]


def stale_claims_settle(*, hospital_id: int, now=None) -> int:
    """Doses a dead worker claimed but never recorded: mark them sent with WeChat
    result `unknown` and send their in-app reminder (the client shows a dose once)."""
    now = now or timezone.now()
    with tenant_context(hospital_id):
        stale = list(Dose.objects.select_for_update(skip_locked=True)
                     .filter(dispatch_state=Dose.Dispatch.SENDING, claimed_at__lt=now - _lease())
                     .select_related("plan", "patient"))
        if not stale:
            return 0
        _record(hospital_id, [(dose, Dose.WeChatResult.UNKNOWN) for dose in stale], now, recovered=True)
    return len(stale)


def dispatch_doses(*, hospital_id: int, dose_ids: list[int]) -> dict:
    """Send the reminders of these doses that are still pending. Returns counts."""
    counts = {"claimed": 0, "skipped": 0}
    for start in range(0, len(dose_ids), SLICE_SIZE):
        ids = dose_ids[start:start + SLICE_SIZE]
        claimed = _claim(hospital_id, ids)
        counts["claimed"] += len(claimed)
        counts["skipped"] += len(ids) - len(claimed)
        if not claimed:
            continue
        outcomes = _send(hospital_id, claimed)
        for _dose, result in outcomes:
            counts[result] = counts.get(result, 0) + 1
        with tenant_context(hospital_id):
            _record(hospital_id, outcomes, timezone.now())
    return counts


def _claim(hospital_id: int, ids: list[int]) -> list[Dose]:
    now = timezone.now()
    with tenant_context(hospital_id):
        doses = list(Dose.objects.select_for_update(skip_locked=True, of=("self",))
                     .filter(pk__in=ids, dispatch_state=Dose.Dispatch.PENDING, remind_at__lte=now)
                     .select_related("plan", "patient__user__wechat_account"))
        if doses:
            Dose.objects.filter(pk__in=[dose.pk for dose in doses]).update(
                dispatch_state=Dose.Dispatch.SENDING, claimed_at=now)
    return doses


def _local(dose: Dose) -> datetime.datetime:
    return dose.scheduled_at.astimezone(schedule.zone(dose.plan.timezone))


def _message(dose: Dose) -> dict:
    plan = dose.plan
    return {"thing1": f"{plan.drug_name} {plan.dose}", "time2": _local(dose).strftime("%Y-%m-%d %H:%M"),
            "thing3": plan.notes or "按时服药"}


def _send(hospital_id: int, doses: list[Dose]) -> list[tuple[Dose, str]]:
    with tenant_context(hospital_id):
        template = setting_value("reminders.wechat_template_id")
    jobs = []
    for dose in doses:
        openid = openid_of(dose.patient.user) if dose.patient.user_id else None
        jobs.append((dose, openid))

    def send_one(job):
        dose, openid = job
        if not openid:
            return dose, Dose.WeChatResult.NO_ACCOUNT
        for attempt in range(2):
            try:
                result = send_subscribe_message(openid=openid, template_id=template, data=_message(dose),
                                                page=f"pages/reminders/dose?id={dose.pk}")
            except UpstreamUnavailableError as error:
                # Only "busy" says WeChat did not send it: try once more. No answer at all
                # (a timeout, a dropped connection) may follow a delivered message, so it
                # is never repeated: the in-app reminder has to do.
                if error.code == "wechat_busy" and attempt == 0:
                    continue
                return dose, Dose.WeChatResult.UNAVAILABLE
            if result.sent:
                return dose, Dose.WeChatResult.SENT
            return dose, (Dose.WeChatResult.NO_QUOTA if result.reason == "no_quota" else Dose.WeChatResult.REFUSED)
        return dose, Dose.WeChatResult.UNAVAILABLE

    return list(_threads().map(send_one, jobs))


_CHANNEL_FOR = {
    Dose.WeChatResult.SENT: MedicationPlan.Channel.WECHAT,
    Dose.WeChatResult.NO_QUOTA: MedicationPlan.Channel.IN_APP_NO_QUOTA,
    Dose.WeChatResult.NO_ACCOUNT: MedicationPlan.Channel.IN_APP_NO_ACCOUNT,
}


def _record(hospital_id: int, outcomes: list[tuple[Dose, str]], now, *, recovered: bool = False) -> None:
    """Inside the caller's tenant transaction: sending -> sent, plan channels, ledger,
    audit, and the in-app events (published after commit)."""
    by_result: dict[str, list[int]] = {}
    channel_of_plan: dict[int, str] = {}
    for dose, result in outcomes:
        by_result.setdefault(result, []).append(dose.pk)
        if result in _CHANNEL_FOR:
            channel_of_plan[dose.plan_id] = _CHANNEL_FOR[result]
    for result, ids in by_result.items():
        Dose.objects.filter(pk__in=ids, dispatch_state=Dose.Dispatch.SENDING).update(
            dispatch_state=Dose.Dispatch.SENT, reminded_at=now, wechat_result=result)
    for channel in set(channel_of_plan.values()):
        plan_ids = [plan_id for plan_id, value in channel_of_plan.items() if value == channel]
        MedicationPlan.objects.filter(pk__in=plan_ids).exclude(reminder_channel=channel).update(
            reminder_channel=channel, reminder_channel_since=now)
    DoseEvent.objects.bulk_create([
        DoseEvent(hospital_id=hospital_id, plan_id=dose.plan_id, dose=dose, kind=DoseEvent.Kind.REMINDED,
                  occurred_at=now, detail={"round": dose.reminder_round, "wechat": result})
        for dose, result in outcomes])
    publish_many([("reminders.dose_due", _event(dose, recovered), [dose.patient.user_id])
                  for dose, _result in outcomes if dose.patient.user_id], hospital_id=hospital_id)
    audit_record(action="dose.remind", hospital_id=hospital_id, object_type="dose", detail={
        "dose_ids": [dose.pk for dose, _result in outcomes],
        "patient_ids": sorted({dose.patient_id for dose, _result in outcomes}),
        "wechat": {result: len(ids) for result, ids in by_result.items()}, "recovered": recovered})


def _event(dose: Dose, recovered: bool) -> dict:
    plan = dose.plan
    return {"dose": dose.pk, "plan": plan.pk, "drug": plan.drug_name, "dose_amount": plan.dose, "notes": plan.notes,
            "due_at": _local(dose).isoformat(), "due_local": date_format(_local(dose), "Y-m-d H:i"),
            "round": dose.reminder_round, "recovered": recovered}
