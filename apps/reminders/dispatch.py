"""Sending dose reminders, each round of each dose once.

    beat, every 10 s: reminders.dispatch_due
        for each hospital: mark due doses queued, send their ids to
        reminders.dispatch_batch in chunks of BATCH_SIZE
    worker: reminders.dispatch_batch(hospital_id, dose_ids)
        for each slice of SLICE_SIZE ids:
          1. claim  (own transaction): pending -> sending, only rows still pending, with
             the columns the messages need read in the same locked SELECT
          2. send   WeChat subscribe messages for the claimed doses, SEND_CONCURRENCY at
             once over keep-alive connections on an event loop (uvloop) in a thread of
             its own, the access token refreshed once at most; meanwhile the previous
             slice is recorded
          3. record (own transaction): sending -> sent with WeChat's answer (one UPDATE
             per answer), the plan's reminder channel, one ledger row per dose (one
             INSERT), one audit event for the slice listing its doses and patients; the
             in-app events go over /ws/v1/events/ after this commits

Why it is exactly once: a dose round is sent only by the worker whose claim moved it
from pending to sending, so a second beat tick, a duplicated batch or a redelivered
task (acks_late after a worker died) finds it claimed or sent and skips it. The record
step only records doses still carrying this worker's claim. The one step outside the
database is WeChat: a worker killed between its claim and its record leaves at most
IN_FLIGHT_SLICES * SLICE_SIZE doses in `sending` (one being sent or recorded, the
next claimed and perhaps not yet sent). After the dispatch lease, the sweep
records them as sent with WeChat result `unknown` and sends only their in-app
reminder: we never risk a second WeChat reminder for a dose, since a patient told
twice may take it twice.
"""

import datetime
import json
import logging
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass

from django.db import connections
from django.db.models import Q
from django.utils import timezone

from apps.accounts.wechat_subscribe import UNAVAILABLE, BulkSender, SubscribeMessage, our_openid
from apps.configuration.selectors import setting_value
from apps.privacy.services import audit_record
from apps.realtime.publish import publish_many
from apps.tenancy.context import tenant_context

from . import schedule
from .models import Dose, DoseEvent, MedicationPlan

logger = logging.getLogger(__name__)

# Doses per dispatch task. Each task's pipeline starts and ends empty (nothing is sent
# while its first slice is claimed and its last recorded), so fewer, larger tasks waste
# less; 10,000 still spreads a peak minute over ten tasks for a pool or several workers.
BATCH_SIZE = 10_000
# Doses claimed, sent and recorded together. Bigger slices cost fewer transactions and
# audit appends; a killed worker leaves up to IN_FLIGHT_SLICES slices recorded `unknown`
# (in-app reminder only), so they are not bigger than the speed needs.
SLICE_SIZE = 500
IN_FLIGHT_SLICES = 2  # one on the wire or being recorded, the next one claimed
SEND_CONCURRENCY = 64


@dataclass(frozen=True, slots=True)
class DueDose:
    """What sending and recording a reminder need, read with the claim (no model
    instances: building 100,000 of them with their plans and users cost more than
    the rest of the claim)."""

    pk: int
    plan_id: int
    patient_id: int
    user_id: int | None
    openid: str | None
    reminder_round: int
    scheduled_at: datetime.datetime
    drug_name: str
    dose_amount: str
    notes: str
    timezone: str
    channel: str  # the plan's reminder channel when claimed


_DUE_COLUMNS = ("pk", "plan_id", "patient_id", "patient__user_id", "patient__user__wechat_account__app_id",
                "patient__user__wechat_account__openid", "reminder_round", "scheduled_at", "plan__drug_name",
                "plan__dose", "plan__notes", "plan__timezone", "plan__reminder_channel")


def _locked_due(**filters) -> list[DueDose]:
    """Lock the matching doses (skipping rows another worker holds) and read them."""
    rows = (Dose.objects.select_for_update(skip_locked=True, of=("self",)).filter(**filters)
            .values_list(*_DUE_COLUMNS))
    return [DueDose(pk=pk, plan_id=plan_id, patient_id=patient_id, user_id=user_id,
                    openid=our_openid(app_id=app_id, openid=openid), reminder_round=reminder_round,
                    scheduled_at=scheduled_at, drug_name=drug_name, dose_amount=dose_amount, notes=notes,
                    timezone=tz_name, channel=channel)
            for (pk, plan_id, patient_id, user_id, app_id, openid, reminder_round, scheduled_at, drug_name,
                 dose_amount, notes, tz_name, channel) in rows]


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=setting_value("reminders.dispatch_lease_seconds"))


def due_doses_queue(*, hospital_id: int, now=None, limit: int = 500_000) -> Iterator[list[int]]:
    """Mark the hospital's due, unqueued doses queued, a batch at a time, and yield each
    batch's ids once its mark is committed: the caller hands it to a worker at once, so
    the first worker starts within milliseconds, not after a peak minute's 100,000
    doses are all marked (5 s). Doses queued longer ago than the lease are queued again
    (their task was lost); dispatching twice is harmless, the claim decides."""
    now = now or timezone.now()
    with tenant_context(hospital_id):
        due = (Dose.objects.filter(dispatch_state=Dose.Dispatch.PENDING, remind_at__lte=now)
               .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - _lease()))
               .order_by("remind_at").values_list("id", flat=True)[:limit])
        ids = list(due)
    for start in range(0, len(ids), BATCH_SIZE):
        batch = ids[start:start + BATCH_SIZE]
        with tenant_context(hospital_id):
            Dose.objects.filter(pk__in=batch).update(queued_at=now)
        yield batch


def stale_claims_settle(*, hospital_id: int, now=None) -> int:
    """Doses a dead worker claimed but never recorded: mark them sent with WeChat
    result `unknown` and send their in-app reminder (the client shows a dose once)."""
    now = now or timezone.now()
    with tenant_context(hospital_id):
        stale = _locked_due(dispatch_state=Dose.Dispatch.SENDING, claimed_at__lt=now - _lease())
        if not stale:
            return 0
        _record(hospital_id, [(dose, Dose.WeChatResult.UNKNOWN) for dose in stale], now, recovered=True)
    return len(stale)


def dispatch_doses(*, hospital_id: int, dose_ids: list[int]) -> dict:
    """Send the reminders of these doses that are still pending. Returns counts.

    Slices overlap, in this order per slice n: claim n while n-1's messages are still on
    their way (BulkSender's thread); once n-1's answers are all in, start sending n and
    record n-1. So the sender is rarely idle, and at any moment at most two slices are
    between claim and record (n-1 and n), the most a killed worker can leave for the
    sweep: slice n+1 is claimed only after n-1 is recorded."""
    counts = {"claimed": 0, "skipped": 0}
    with tenant_context(hospital_id):
        template = setting_value("reminders.wechat_template_id")
    previous: _Sending | None = None
    with BulkSender(concurrency=SEND_CONCURRENCY) as sender:
        for start in range(0, len(dose_ids), SLICE_SIZE):
            ids = dose_ids[start:start + SLICE_SIZE]
            claimed_at, claimed = _claim(hospital_id, ids)
            counts["claimed"] += len(claimed)
            counts["skipped"] += len(ids) - len(claimed)
            if previous is not None:
                previous.results.result()  # one slice on the wire at a time
            current = _start_sending(sender, claimed_at, claimed, template) if claimed else None
            if previous is not None:
                _record_sent(hospital_id, previous, counts)
            previous = current
        if previous is not None:
            _record_sent(hospital_id, previous, counts)
    return counts


@dataclass
class _Sending:
    claimed_at: datetime.datetime
    doses: list[DueDose]
    reachable: list[DueDose]  # those with an openid, in the order of `results`
    results: Future  # list[SendResult]


def _start_sending(sender: BulkSender, claimed_at, doses: list[DueDose], template: str) -> _Sending:
    reachable = [dose for dose in doses if dose.openid]
    messages = [SubscribeMessage(openid=dose.openid, template_id=template, data=_message(dose),
                                 page=f"pages/reminders/dose?id={dose.pk}") for dose in reachable]
    return _Sending(claimed_at, doses, reachable, sender.submit(messages))


def _record_sent(hospital_id: int, sending: _Sending, counts: dict) -> None:
    result_of = {dose.pk: _wechat_result(result) for dose, result in zip(sending.reachable, sending.results.result())}
    outcomes = [(dose, result_of.get(dose.pk, Dose.WeChatResult.NO_ACCOUNT)) for dose in sending.doses]
    for _dose, result in outcomes:
        counts[result] = counts.get(result, 0) + 1
    with tenant_context(hospital_id):
        _commit_without_waiting_for_disk()
        # Only what still carries this claim: had the sweep taken it over (this worker
        # was slower than the lease), it is recorded already.
        mine = set(Dose.objects.select_for_update().filter(
            pk__in=[dose.pk for dose in sending.doses], dispatch_state=Dose.Dispatch.SENDING,
            claimed_at=sending.claimed_at,
        ).values_list("pk", flat=True))
        _record(hospital_id, [(dose, result) for dose, result in outcomes if dose.pk in mine], timezone.now())


def _commit_without_waiting_for_disk() -> None:
    """The record step's commit need not wait for its WAL flush (about 12 ms a slice).
    Safe here, unlike the claim: if PostgreSQL crashed in the next fraction of a second
    and lost this commit, the doses would be back in `sending` under this claim, and
    the sweep would record them (`unknown`, in-app reminder, one ledger row) as for a
    dead worker; nothing would be sent over WeChat twice or recorded twice. The claim's
    commit stays synchronous: losing it would put sent doses back to `pending`."""
    connection = connections[Dose.objects.db]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _claim(hospital_id: int, ids: list[int]) -> tuple[datetime.datetime, list[DueDose]]:
    now = timezone.now()
    with tenant_context(hospital_id):
        doses = _locked_due(pk__in=ids, dispatch_state=Dose.Dispatch.PENDING, remind_at__lte=now)
        if doses:
            Dose.objects.filter(pk__in=[dose.pk for dose in doses]).update(
                dispatch_state=Dose.Dispatch.SENDING, claimed_at=now)
    return now, doses


def _local(dose: DueDose) -> datetime.datetime:
    return dose.scheduled_at.astimezone(schedule.zone(dose.timezone))


def _wall_clock(local: datetime.datetime) -> str:
    # strftime, not Django's date_format: the same "Y-m-d H:i" at a twentieth of the
    # cost, which counts at 100,000 reminders a minute.
    return local.strftime("%Y-%m-%d %H:%M")


def _message(dose: DueDose) -> dict:
    return {"thing1": f"{dose.drug_name} {dose.dose_amount}", "time2": _wall_clock(_local(dose)),
            "thing3": dose.notes or "按时服药"}


def _wechat_result(result) -> str:
    if result.sent:
        return Dose.WeChatResult.SENT
    return {"no_quota": Dose.WeChatResult.NO_QUOTA, UNAVAILABLE: Dose.WeChatResult.UNAVAILABLE}.get(
        result.reason, Dose.WeChatResult.REFUSED)


_CHANNEL_FOR = {
    Dose.WeChatResult.SENT: MedicationPlan.Channel.WECHAT,
    Dose.WeChatResult.NO_QUOTA: MedicationPlan.Channel.IN_APP_NO_QUOTA,
    Dose.WeChatResult.NO_ACCOUNT: MedicationPlan.Channel.IN_APP_NO_ACCOUNT,
}


def _record(hospital_id: int, outcomes: list[tuple[DueDose, str]], now, *, recovered: bool = False) -> None:
    """Inside the caller's tenant transaction, for doses it holds locked in `sending`:
    sent, plan channels, ledger, audit, and the in-app events (published after commit)."""
    if not outcomes:
        return
    by_result: dict[str, list[int]] = {}
    channel_of_plan: dict[int, str] = {}
    for dose, result in outcomes:
        by_result.setdefault(result, []).append(dose.pk)
        if result in _CHANNEL_FOR:
            channel_of_plan[dose.plan_id] = _CHANNEL_FOR[result]
    claimed_channel = {dose.plan_id: dose.channel for dose, _result in outcomes}
    # Most plans keep the channel they had when claimed: no UPDATE for them.
    channel_of_plan = {plan_id: channel for plan_id, channel in channel_of_plan.items()
                       if channel != claimed_channel[plan_id]}
    for result, ids in by_result.items():
        Dose.objects.filter(pk__in=ids, dispatch_state=Dose.Dispatch.SENDING).update(
            dispatch_state=Dose.Dispatch.SENT, reminded_at=now, wechat_result=result)
    for channel in set(channel_of_plan.values()):
        plan_ids = [plan_id for plan_id, value in channel_of_plan.items() if value == channel]
        MedicationPlan.objects.filter(pk__in=plan_ids).exclude(reminder_channel=channel).update(
            reminder_channel=channel, reminder_channel_since=now)
    _ledger_reminded(hospital_id, outcomes, now)
    publish_many([("reminders.dose_due", _event(dose, recovered), [dose.user_id])
                  for dose, _result in outcomes if dose.user_id], hospital_id=hospital_id)
    audit_record(action="dose.remind", hospital_id=hospital_id, object_type="dose", detail={
        "dose_ids": [dose.pk for dose, _result in outcomes],
        "patient_ids": sorted({dose.patient_id for dose, _result in outcomes}),
        "wechat": {result: len(ids) for result, ids in by_result.items()}, "recovered": recovered})


_LEDGER_COLUMNS = ("id", "hospital", "plan", "dose", "kind", "occurred_at", "detail")


def _ledger_reminded(hospital_id: int, outcomes: list[tuple[DueDose, str]], now) -> None:
    """The slice's "reminded" ledger rows, as multi-row INSERTs of plain values.
    `bulk_create` built a model instance per row and prepared each field through the
    ORM: a third of the dispatching thread's time. The values are prepared as the
    fields would (a UUID is 32 hex characters on SQLite), with the same JSON."""
    connection = connections[DoseEvent.objects.db]
    meta = DoseEvent._meta
    fields = [meta.get_field(name) for name in _LEDGER_COLUMNS]
    occurred_at = fields[5].get_db_prep_save(now, connection)
    # One os.urandom call for all keys: uuid4() asks the kernel per row, and each call
    # hands the GIL to the sending thread for up to 5 ms.
    entropy = os.urandom(16 * len(outcomes))
    rows = [(fields[0].get_db_prep_save(uuid.UUID(bytes=entropy[16 * index:16 * index + 16], version=4), connection),
             hospital_id, dose.plan_id, dose.pk, DoseEvent.Kind.REMINDED.value, occurred_at,
             json.dumps({"round": dose.reminder_round, "wechat": str(result)}))
            for index, (dose, result) in enumerate(outcomes)]
    quote = connection.ops.quote_name
    head = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) VALUES ")
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = (connection.features.max_query_params or 70_000) // len(fields)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            cursor.execute(head + ", ".join([row_sql] * len(chunk)), [value for row in chunk for value in row])


def _event(dose: DueDose, recovered: bool) -> dict:
    local = _local(dose)
    return {"dose": dose.pk, "plan": dose.plan_id, "drug": dose.drug_name, "dose_amount": dose.dose_amount,
            "notes": dose.notes, "due_at": local.isoformat(), "due_local": _wall_clock(local),
            "round": dose.reminder_round, "recovered": recovered}
