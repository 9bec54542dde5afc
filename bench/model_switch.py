"""How long a model switch takes to reach every ML worker, with no restart.

    .venv/bin/python bench/model_switch.py [--workers 2] [--rate 20]

Starts real Celery worker processes on the `ml` queue (Redis broker, PostgreSQL),
activates model v1 for a hospital, streams classification tasks at a steady rate,
switches the hospital to v2 through the model registry, and measures, per worker,
the time from the switch's commit to the first task that ran on v2 (after which no
task ran on v1). Also counts failed tasks. Prints the figures and writes JSON.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _django import ROOT, setup_django

DATABASE = "hp_bench_models"
STORAGE = ROOT / "bench" / "results" / "models"


def start_workers(count: int, env: dict) -> list[subprocess.Popen]:
    workers = []
    for index in range(count):
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "hospital_platform", "worker", "-Q", "ml", "--pool", "solo",
             "-n", f"bench{index}@%h", "--include", "bench.model_switch_tasks", "--loglevel", "WARNING"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return workers


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=20, help="tasks per second")
    args = parser.parse_args()

    os.environ["MODEL_STORAGE_ROOT"] = str(STORAGE)
    os.environ["CELERY_RESULT_BACKEND"] = "redis://127.0.0.1:6379/3"
    setup_django(DATABASE)
    from django.db import connections

    from apps.configuration.model_services import model_activate, model_register
    from apps.configuration.models import ModelArtifact
    from apps.tenancy.models import Hospital
    from apps.tenancy.roles import Role
    from hospital_platform.celery import app
    from tests.support.tiny_models import synthetic_points, train_tiny_classifier

    import bench.model_switch_tasks as tasks  # registers the loader and the task here too

    app.conf.task_always_eager = False
    hospital, _ = Hospital.objects.get_or_create(slug="bench-models", defaults={"name": "Bench models"})
    artifacts = {}
    for version, (seed, epochs) in {"v1": (1, 2), "v2": (2, 20)}.items():
        artifact = ModelArtifact.objects.filter(name="bench-diagonal", version=version).first()
        if artifact is None:
            shutil.rmtree(STORAGE / version, ignore_errors=True)
            train_tiny_classifier(STORAGE / version / "model.keras", seed=seed, epochs=epochs)
            artifact = model_register(task=tasks.TASK, name="bench-diagonal", version=version,
                                      path=f"{version}/model.keras", training_data="synthetic")
        artifacts[version] = artifact
    model_activate(task=tasks.TASK, artifact_id=artifacts["v1"].pk, hospital_id=hospital.pk, role=Role.PLATFORM_ADMIN)
    connections.close_all()

    app.control.purge()
    workers = start_workers(args.workers, dict(os.environ))
    points = synthetic_points(16, seed=7)[0].tolist()
    try:
        # Warm up: every worker has answered on v1 (started, model loaded).
        seen, deadline = set(), time.time() + 120
        while len(seen) < args.workers and time.time() < deadline:
            batch = [tasks.classify.apply_async(kwargs={"hospital_id": hospital.pk, "points": points})
                     for _ in range(args.workers * 2)]
            seen |= {r.get(timeout=60)["worker"] for r in batch}
        print(f"{len(seen)} workers up on v1")

        pending, interval = [], 1.0 / args.rate
        switch_at = None
        started = time.time()
        while time.time() - started < 15:
            pending.append(tasks.classify.apply_async(kwargs={"hospital_id": hospital.pk, "points": points}))
            if switch_at is None and time.time() - started > 3:
                model_activate(task=tasks.TASK, artifact_id=artifacts["v2"].pk, hospital_id=hospital.pk,
                               role=Role.PLATFORM_ADMIN)
                switch_at = time.time()  # committed (autocommit) and the version bumped
            time.sleep(interval)
        results, failures = [], 0
        for result in pending:
            try:
                results.append(result.get(timeout=60))
            except Exception:
                failures += 1
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        model_activate(task=tasks.TASK, artifact_id=artifacts["v1"].pk, hospital_id=hospital.pk,
                       role=Role.PLATFORM_ADMIN)

    per_worker = {}
    for worker in sorted({r["worker"] for r in results}):
        runs = sorted((r for r in results if r["worker"] == worker), key=lambda r: r["started"])
        last_v1 = max((r["started"] for r in runs if r["version"] == "v1"), default=switch_at)
        first_v2 = min((r["started"] for r in runs if r["version"] == "v2" and r["started"] >= last_v1), default=None)
        per_worker[worker] = None if first_v2 is None else round(first_v2 - switch_at, 3)
    reached = [s for s in per_worker.values() if s is not None]
    summary = {"workers": args.workers, "tasks": len(results) + failures, "failed_tasks": failures,
               "seconds_to_reach_each_worker": per_worker,
               "seconds_to_reach_all": max(reached) if len(reached) == len(per_worker) else None}
    print(json.dumps(summary, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "model_switch.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
