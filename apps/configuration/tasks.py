from celery import shared_task

from .monitoring.alerts import alerts_evaluate
from .monitoring.schedule import EVALUATE_ALERTS_TASK


@shared_task(name=EVALUATE_ALERTS_TASK, ignore_result=True)
def evaluate_alerts() -> dict:
    """Platform-wide (no hospital): compare monitoring figures with the thresholds and
    tell platform administrators about alerts that started or ended."""
    transitions = alerts_evaluate()
    return {kind: [alert["key"] for alert in alerts] for kind, alerts in transitions.items()}
