"""The base of every Celery task that touches tenant data."""

from celery import Task

from .context import tenant_context


class TenantTask(Task):
    """Tasks take `hospital_id` as a keyword argument and run inside that hospital's
    tenant context, so the ORM scope and the database's row-level security match the
    hospital that queued the work. A task without it fails at once, loudly.

    Retries with backoff are for remote calls; set `autoretry_for` per task.
    """

    abstract = True
    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, *args, **kwargs):
        hospital_id = kwargs.get("hospital_id")
        if not isinstance(hospital_id, int):
            raise ValueError(f"{self.name} needs hospital_id=<int> as a keyword argument")
        with tenant_context(hospital_id):
            return super().__call__(*args, **kwargs)
