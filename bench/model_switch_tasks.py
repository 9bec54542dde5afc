"""The task the model-switch benchmark sends to real workers (loaded with
`celery worker --include bench.model_switch_tasks`)."""

import os
import socket
import time

from celery import shared_task

from apps.configuration.algorithms import declare_algorithm_task
from apps.configuration.serving import model_pool
from apps.tenancy.tasks import TenantTask
from ml.keras_io import load_keras_model
from tests.support.tiny_models import agreement, predict_labels

TASK = "bench_classifier"
declare_algorithm_task(TASK, implementations={"keras_mlp": "tiny MLP"}, default="keras_mlp",
                       description="benchmark classifier")
model_pool.register_loader(TASK, load_keras_model)


@shared_task(base=TenantTask, name="ml.bench.classify")
def classify(*, hospital_id: int, points: list) -> dict:
    started = time.time()
    result = model_pool.run(TASK, points, predict=predict_labels, compare=agreement)
    return {"version": result.model.version, "worker": f"{socket.gethostname()}:{os.getpid()}",
            "started": started, "finished": time.time()}
