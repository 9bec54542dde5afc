"""Worker heartbeats: a bootstep in every Celery worker that writes a record to the
monitoring store when the worker starts and every HEARTBEAT_SECONDS after, from its
own thread (so a long task does not silence it), and removes it on a clean shutdown.

A worker that dies without shutting down (OOM kill, lost host) leaves a record that
stops being refreshed; the snapshot calls it dead once it is older than
`monitoring.worker_heartbeat_timeout_seconds`, and an alert fires. Celery's own
`heartbeat_sent` signal is not used: it only fires when task events are enabled.
"""

import logging
import os
import threading
import time

from celery import bootsteps

from .store import get_store

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0

# This process's worker node name ("celery@host"), for failure records. Set before the
# pool forks, so prefork children inherit it; task requests only carry it in prefork.
worker_hostname: str | None = None


def _worker_record(worker, started_at: float) -> dict:
    from celery.worker import state

    try:
        queues = sorted(worker.app.amqp.queues.consume_from or worker.app.amqp.queues)
    except Exception:
        queues = []
    return {
        "hostname": worker.hostname,
        "pid": os.getpid(),
        "queues": queues,
        "pool": getattr(worker.pool_cls, "__name__", str(worker.pool_cls)),
        "concurrency": worker.concurrency,
        "started_at": started_at,
        "last_seen": time.time(),
        "active": len(state.active_requests),
        "processed": sum(state.total_count.values()),
    }


class WorkerHeartbeat(bootsteps.StartStopStep):
    requires = ("celery.worker.components:Pool",)
    label = "monitoring heartbeat"

    def __init__(self, worker, **kwargs):
        global worker_hostname
        worker_hostname = worker.hostname
        self._stopping = threading.Event()
        self._thread = None
        self._started_at = time.time()
        super().__init__(worker, **kwargs)

    def beat(self, worker) -> None:
        try:
            get_store().worker_beat(worker.hostname, _worker_record(worker, self._started_at))
        except Exception:
            logger.exception("monitoring: worker heartbeat")

    def _run(self, worker):
        while not self._stopping.wait(HEARTBEAT_SECONDS):
            self.beat(worker)

    def start(self, worker):
        self._stopping.clear()
        self.beat(worker)
        self._thread = threading.Thread(target=self._run, args=(worker,), name="monitoring-heartbeat", daemon=True)
        self._thread.start()

    def stop(self, worker):
        global worker_hostname
        worker_hostname = None
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        try:
            get_store().worker_forget(worker.hostname)
        except Exception:
            logger.exception("monitoring: worker shutdown")

    def terminate(self, worker):
        self.stop(worker)
