from celery import shared_task

from apps.tenancy.tasks import TenantTask

from .services import imaging_study_analyse as analyse_now


# "ml." prefix: routed to the ml queue, whose workers keep the models loaded.
@shared_task(base=TenantTask, name="ml.imaging_study_analyse")
def imaging_study_analyse(*, hospital_id: int, study_id: int) -> str | None:
    study = analyse_now(study_id=study_id)
    return study.status if study is not None else None
