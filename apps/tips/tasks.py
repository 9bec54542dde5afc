from celery import shared_task

from apps.tenancy.models import Hospital
from apps.tenancy.tasks import TenantTask

from . import services

REFRESH_ALL = "tips.refresh_neighbours"


@shared_task(name=REFRESH_ALL, ignore_result=True)
def refresh_neighbours() -> None:
    """Hourly: recompute each hospital's item-item neighbours, one task per hospital."""
    for hospital_id in Hospital.objects.filter(active=True).values_list("pk", flat=True):
        refresh_hospital_neighbours.delay(hospital_id=hospital_id)


@shared_task(base=TenantTask, name="tips.refresh_hospital_neighbours", ignore_result=True)
def refresh_hospital_neighbours(*, hospital_id: int) -> int:
    return services.neighbours_refresh(hospital_id=hospital_id)
