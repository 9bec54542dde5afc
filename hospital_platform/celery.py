"""The Celery app. Broker from REDIS_URL (RabbitMQ works the same through
CELERY_BROKER_URL); two queues: `default` and `ml` (the ML workers load models once)."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hospital_platform.settings.local")

app = Celery("hospital_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
# CELERY_ML_QUEUE renames the ML queue, so a benchmark or a second deployment on a
# shared broker can keep its ML tasks to its own workers.
ML_QUEUE = os.environ.get("CELERY_ML_QUEUE", "ml")
app.conf.task_queues = (Queue("default"), Queue(ML_QUEUE))
app.conf.task_default_queue = "default"
# Model inference and training go to the `ml` queue, whose workers load each model
# once per process; everything else to `default`. Name ML tasks "ml.<family>.<what>".
app.conf.task_routes = {"ml.*": {"queue": ML_QUEUE}}
app.autodiscover_tasks()
