"""The analysis task: on the `ml` queue (its name starts with "ml."), where workers keep
the OCR engines loaded between tasks."""

import logging
import time

from celery import Task, shared_task
from django.core.files.storage import default_storage

from apps.tenancy.context import tenant_context
from apps.tenancy.tasks import TenantTask

from .analysis import AnalysisFailed, ImageRejected, analyse_upload
from .services import lab_report_begin, lab_report_fail, lab_report_store_analysis

logger = logging.getLogger(__name__)


class ShortContextTenantTask(TenantTask):
    """A TenantTask whose body enters the hospital's context itself, around each short
    database step, instead of one transaction for the whole run (docs/decisions.md 1):
    the status "processing" must commit (and reach the WebSocket) before the seconds of
    OCR, and no transaction stays open while a page is read."""

    abstract = True

    def __call__(self, *args, **kwargs):
        if not isinstance(kwargs.get("hospital_id"), int):
            raise ValueError(f"{self.name} needs hospital_id=<int> as a keyword argument")
        return Task.__call__(self, *args, **kwargs)


@shared_task(base=ShortContextTenantTask, name="ml.labreport.analyse")
def lab_report_analyse(*, hospital_id: int, report_id: int, attempt: int) -> str:
    """Analyse one report. Never raises for a bad file or a failed analysis: the report
    is marked failed with a reason the user can act on, and the worker goes on."""
    with tenant_context(hospital_id):
        job = lab_report_begin(report_id=report_id, attempt=attempt)
    if job is None:
        return "skipped"
    started = time.perf_counter()
    try:
        with default_storage.open(job.file_name, "rb") as stored:
            data = stored.read()
        result = analyse_upload(data, engine=job.engine, sex=job.sex, age=job.age)
    except (ImageRejected, OSError) as error:
        code, reason = "unreadable_image", str(error)
    except AnalysisFailed as failure:
        code, reason = failure.code, failure.reason
    except Exception as error:  # the pipeline's own bug must not take the worker down
        logger.exception("lab report %s: analysis failed", report_id)
        code, reason = "analysis_error", f"{type(error).__name__}: {error}"
    else:
        with tenant_context(hospital_id):
            stored = lab_report_store_analysis(report_id=report_id, attempt=attempt, result=result)
        return "preliminary" if stored else "superseded"
    with tenant_context(hospital_id):
        lab_report_fail(report_id=report_id, attempt=attempt, code=code, reason=reason, engine=job.engine,
                        timings_ms={"total_ms": round((time.perf_counter() - started) * 1000, 1)})
    return "failed"
