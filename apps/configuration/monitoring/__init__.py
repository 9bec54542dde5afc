"""System monitoring: Celery queues, workers and tasks, model inference, database and
Redis health, WebSocket connections; alerts to platform admins; /metrics.
See docs/monitoring.md."""
