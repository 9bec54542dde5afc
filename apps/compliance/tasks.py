"""Detection in Celery: every minute the platform job fans out one rule run per
hospital; a daily job runs the autoencoder per hospital on the ml queue; a daily
job purges operational data by policy."""

from celery import shared_task

from apps.tenancy.models import Hospital
from apps.tenancy.tasks import TenantTask

DETECT_ALL = "compliance.detect_all"
DETECT = "compliance.detect"
ANOMALIES_ALL = "compliance.anomalies_all"
ANOMALIES = "ml.compliance_anomalies"
PURGE_ALL = "compliance.purge_all"


def _fan_out(task) -> int:
    """Queue `task` once per active hospital; each run is in that hospital's context."""
    hospital_ids = list(Hospital.objects.filter(active=True).values_list("pk", flat=True))
    for hospital_id in hospital_ids:
        task.delay(hospital_id=hospital_id)
    return len(hospital_ids)


@shared_task(name=DETECT_ALL, ignore_result=True)
def detect_all() -> int:
    return _fan_out(detect)


@shared_task(base=TenantTask, name=DETECT, ignore_result=True)
def detect(*, hospital_id: int) -> dict:
    from .detection import detect_new_events

    return detect_new_events()


@shared_task(name=ANOMALIES_ALL, ignore_result=True)
def anomalies_all() -> int:
    return _fan_out(anomalies)


@shared_task(base=TenantTask, name=ANOMALIES, ignore_result=True)
def anomalies(*, hospital_id: int) -> int:
    from apps.configuration.selectors import setting_value

    from .anomaly import anomalies_detect

    if not setting_value("compliance.anomaly_enabled"):
        return 0
    return len(anomalies_detect())


@shared_task(name=PURGE_ALL, ignore_result=True)
def purge_all() -> dict:
    from .retention import operational_data_purge

    return {hospital_id: operational_data_purge(hospital_id=hospital_id)
            for hospital_id in Hospital.objects.filter(active=True).values_list("pk", flat=True)}
