"""The autoencoder detector over a hospital's audit events (adapter to
ml.access_anomaly). Runs daily: learns from the last N days of every staff member's
daily access features and opens a case per flagged user-day, with the features
that drove the reconstruction error as evidence."""

from dataclasses import replace
from datetime import timedelta

from django.utils import timezone

from apps.configuration.selectors import setting_value
from apps.privacy.models import AuditEvent
from apps.tenancy.context import current_hospital_id
from apps.tenancy.roles import STAFF_ROLES

from .detection import cases_open
from .models import Severity
from .rules import CaseDraft


def _egress_suffixes() -> tuple:
    return tuple(s.strip() for s in setting_value("compliance.egress_actions").split(",") if s.strip())


def access_records(events, *, egress_suffixes: tuple):
    from ml.access_anomaly.data import AccessRecord

    for event in events:
        detail = event.detail or {}
        yield AccessRecord(
            actor_id=event.actor_id, role=event.role, occurred_at=timezone.localtime(event.occurred_at),
            action=event.action, outcome=event.outcome, patient_id=event.patient_id,
            listed_patient_ids=tuple(detail.get("patient_ids") or ()), ip=event.ip,
            egress=bool(egress_suffixes) and event.action.endswith(egress_suffixes))


def anomalies_detect(*, days: int | None = None, config=None) -> list:
    """Fit and flag over the current hospital's last `days` days; open cases for
    flagged user-days (dedup per user and day). Returns the opened cases."""
    from ml.access_anomaly.config import AutoencoderConfig
    from ml.access_anomaly.serving import detect

    hospital_id = current_hospital_id()
    days = days or setting_value("compliance.anomaly_history_days")
    start, end = setting_value("compliance.working_hours")
    config = config or replace(AutoencoderConfig(), robust_z_threshold=setting_value("compliance.anomaly_robust_z"),
                               work_start_hour=start, work_end_hour=end)
    since = timezone.now() - timedelta(days=days)
    events = (AuditEvent.objects.filter(hospital_id=hospital_id, occurred_at__gte=since, actor_id__isnull=False,
                                        role__in=list(STAFF_ROLES))
              .only("actor_id", "actor_username", "role", "occurred_at", "action", "outcome", "patient_id", "detail",
                    "ip").iterator(chunk_size=5000))
    names = {}

    def remember(stream):
        for event in stream:
            names[event.actor_id] = event.actor_username
            yield event

    flags = detect(list(access_records(remember(events), egress_suffixes=_egress_suffixes())), config)
    drafts = [CaseDraft(
        "access_anomaly", Severity.HIGH if flag.robust_z >= 2 * config.robust_z_threshold else Severity.MEDIUM,
        f"anomaly:{flag.actor_id}:{flag.day.isoformat()}",
        "Daily access pattern far from peers' (autoencoder reconstruction error)",
        flag.actor_id, names.get(flag.actor_id, ""), None, None, [],
        {"day": flag.day.isoformat(), "role": flag.role, "robust_z": round(flag.robust_z, 2),
         "reconstruction_error": round(flag.error, 4), "drivers": flag.drivers}) for flag in flags]
    return cases_open(hospital_id=hospital_id, drafts=drafts)
