"""Where monitoring figures live.

With REDIS_URL set, every process (web, ASGI, each Celery worker) writes to one
Redis database (REDIS_URL's host, database 3, or MONITORING_REDIS_URL), so any
process can read the whole picture. Without it (the embedded default) an in-process
store keeps the same figures for this process only.

Redis layout (every key starts with the store's prefix, "mon:" by default):

    samples:<family>:<series>   list  "<epoch seconds> <milliseconds>", newest first, capped at KEEP_SAMPLES
    totals:<family>             hash  "<series>\\t<state>" -> count since the store began
    sums:<family>               hash  "<series>" -> total seconds since the store began
    minute:<family>:<minute>    hash  "<series>\\t<state>" -> count in that minute (expires after 2 hours)
    failures                    list  JSON failure records, newest first, capped at KEEP_FAILURES
    workers                     hash  hostname -> JSON heartbeat record
    websockets                  hash  "<host>:<pid>" -> JSON {"count", "at"}
    alerts                      hash  alert key -> JSON record of an alert that was announced
    meta                        hash  small facts ("alerts_evaluated_at")

Families: "task" (run time per task name), "wait" (time between publish and start per
task name), "inference" (per task, model, version and role). Writers use one
pipelined round trip per event; a Redis outage costs each writer at most one
short timeout every OUTAGE_BACKOFF_SECONDS and never fails the caller.
"""

import json
import logging
import threading
import time
from collections import Counter, defaultdict, deque
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

logger = logging.getLogger(__name__)

KEEP_SAMPLES = 1000
KEEP_FAILURES = 200
MINUTE_BUCKET_TTL_SECONDS = 2 * 3600
MONITORING_REDIS_DB = 3
OUTAGE_BACKOFF_SECONDS = 10.0
SEPARATOR = "\t"


def field(series: str, state: str) -> str:
    return f"{series}{SEPARATOR}{state}"


def split_field(value: str) -> tuple[str, str]:
    series, _, state = value.rpartition(SEPARATOR)
    return series, state


def monitoring_redis_url() -> str:
    """MONITORING_REDIS_URL if given, else REDIS_URL with database 3 (0 is the broker,
    1 the cache, 2 the channel layer); "" when there is no Redis."""
    explicit = settings.MONITORING_REDIS_URL
    if explicit:
        return explicit
    if not settings.REDIS_URL:
        return ""
    parts = urlsplit(settings.REDIS_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{MONITORING_REDIS_DB}", parts.query, ""))


class RedisStore:
    mode = "redis"

    def __init__(self, url: str, prefix: str = "mon:"):
        import redis

        self.url = url
        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2,
                                           health_check_interval=30, decode_responses=True)
        self._down_until = 0.0

    def _key(self, *parts) -> str:
        return self.prefix + ":".join(str(part) for part in parts)

    def _write(self, what: str, build) -> None:
        """Run a pipelined write; on failure log once and skip writes for a while, so a
        Redis outage never fails or stalls the task or connection being measured."""
        if time.monotonic() < self._down_until:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            build(pipe)
            pipe.execute()
        except Exception as error:  # Monitoring must never break the work it watches.
            self._down_until = time.monotonic() + OUTAGE_BACKOFF_SECONDS
            logger.warning("monitoring: could not record %s (%s); skipping writes for %.0f s",
                           what, error, OUTAGE_BACKOFF_SECONDS)

    # --- writes (hot paths) ------------------------------------------------------

    def record(self, family: str, series: str, state: str, milliseconds: float, at: float,
               extra_samples: dict[str, float] | None = None) -> None:
        minute_key = self._key("minute", family, int(at // 60))
        sample = f"{at:.3f} {milliseconds:.3f}"

        def build(pipe):
            samples_key = self._key("samples", family, series)
            pipe.lpush(samples_key, sample)
            pipe.ltrim(samples_key, 0, KEEP_SAMPLES - 1)
            for other_family, other_ms in (extra_samples or {}).items():
                other_key = self._key("samples", other_family, series)
                pipe.lpush(other_key, f"{at:.3f} {other_ms:.3f}")
                pipe.ltrim(other_key, 0, KEEP_SAMPLES - 1)
            pipe.hincrby(self._key("totals", family), field(series, state), 1)
            pipe.hincrbyfloat(self._key("sums", family), series, milliseconds / 1000)
            pipe.hincrby(minute_key, field(series, state), 1)
            pipe.expire(minute_key, MINUTE_BUCKET_TTL_SECONDS)

        self._write(f"{family} {series}", build)

    def record_failure(self, entry: dict) -> None:
        def build(pipe):
            pipe.lpush(self._key("failures"), json.dumps(entry, default=str))
            pipe.ltrim(self._key("failures"), 0, KEEP_FAILURES - 1)

        self._write("a failure", build)

    def worker_beat(self, hostname: str, record: dict) -> None:
        self._write("a worker heartbeat", lambda pipe: pipe.hset(self._key("workers"), hostname, json.dumps(record)))

    def worker_forget(self, hostname: str) -> None:
        self._write("a worker shutdown", lambda pipe: pipe.hdel(self._key("workers"), hostname))

    def websocket_report(self, process: str, count: int, at: float) -> None:
        self._write("websocket connections", lambda pipe: pipe.hset(
            self._key("websockets"), process, json.dumps({"count": count, "at": at})))

    # --- reads (snapshot, /metrics, alerts) ----------------------------------------

    def samples(self, family: str, series_names) -> dict[str, list[tuple[float, float]]]:
        names = list(series_names)
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.lrange(self._key("samples", family, name), 0, -1)
        result = {}
        for name, rows in zip(names, pipe.execute()):
            result[name] = [tuple(float(x) for x in row.split(" ", 1)) for row in rows]
        return result

    def totals(self, family: str) -> dict[str, int]:
        return {key: int(value) for key, value in self.client.hgetall(self._key("totals", family)).items()}

    def sums(self, family: str) -> dict[str, float]:
        return {key: float(value) for key, value in self.client.hgetall(self._key("sums", family)).items()}

    def window_counts(self, family: str, minutes) -> Counter:
        pipe = self.client.pipeline(transaction=False)
        for minute in minutes:
            pipe.hgetall(self._key("minute", family, minute))
        counts = Counter()
        for bucket in pipe.execute():
            counts.update({key: int(value) for key, value in bucket.items()})
        return counts

    def recent_failures(self, limit: int = KEEP_FAILURES) -> list[dict]:
        return [json.loads(row) for row in self.client.lrange(self._key("failures"), 0, limit - 1)]

    def workers(self) -> dict[str, dict]:
        return {name: json.loads(value) for name, value in self.client.hgetall(self._key("workers")).items()}

    def websocket_counts(self) -> dict[str, dict]:
        return {name: json.loads(value) for name, value in self.client.hgetall(self._key("websockets")).items()}

    def websocket_forget(self, processes) -> None:
        if processes:
            self.client.hdel(self._key("websockets"), *processes)

    # --- alerts: atomic transitions, so concurrent evaluations announce each once ---

    def alert_open(self, key: str, record: dict) -> bool:
        """Remember `key` as announced; False if it already was."""
        return bool(self.client.hsetnx(self._key("alerts"), key, json.dumps(record)))

    def alert_close(self, key: str) -> dict | None:
        """Forget `key`; its record if this call removed it, else None."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hget(self._key("alerts"), key)
        pipe.hdel(self._key("alerts"), key)
        record, removed = pipe.execute()
        return json.loads(record) if removed and record else None

    def alerts_active(self) -> dict[str, dict]:
        return {key: json.loads(value) for key, value in self.client.hgetall(self._key("alerts")).items()}

    def meta_set(self, name: str, value) -> None:
        self.client.hset(self._key("meta"), name, json.dumps(value))

    def meta_get(self, name: str):
        value = self.client.hget(self._key("meta"), name)
        return json.loads(value) if value is not None else None

    def ping(self) -> None:
        self.client.ping()

    def clear(self) -> None:
        keys = list(self.client.scan_iter(match=self.prefix + "*", count=500))
        if keys:
            self.client.delete(*keys)


class MemoryStore:
    """The same interface for one process: the embedded default (no Redis)."""

    mode = "in_process"

    def __init__(self):
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._samples = defaultdict(lambda: deque(maxlen=KEEP_SAMPLES))
            self._totals = defaultdict(Counter)
            self._sums = defaultdict(lambda: defaultdict(float))
            self._minutes: dict[tuple[str, int], Counter] = {}
            self._failures = deque(maxlen=KEEP_FAILURES)
            self._workers: dict[str, dict] = {}
            self._websockets: dict[str, dict] = {}
            self._alerts: dict[str, dict] = {}
            self._meta: dict[str, object] = {}

    def record(self, family, series, state, milliseconds, at, extra_samples=None) -> None:
        minute = int(at // 60)
        with self._lock:
            self._samples[(family, series)].appendleft((at, milliseconds))
            for other_family, other_ms in (extra_samples or {}).items():
                self._samples[(other_family, series)].appendleft((at, other_ms))
            self._totals[family][field(series, state)] += 1
            self._sums[family][series] += milliseconds / 1000
            self._minutes.setdefault((family, minute), Counter())[field(series, state)] += 1
            oldest = minute - MINUTE_BUCKET_TTL_SECONDS // 60
            for key in [key for key in self._minutes if key[1] < oldest]:
                del self._minutes[key]

    def record_failure(self, entry: dict) -> None:
        with self._lock:
            self._failures.appendleft(json.loads(json.dumps(entry, default=str)))

    def worker_beat(self, hostname, record) -> None:
        with self._lock:
            self._workers[hostname] = dict(record)

    def worker_forget(self, hostname) -> None:
        with self._lock:
            self._workers.pop(hostname, None)

    def websocket_report(self, process, count, at) -> None:
        with self._lock:
            self._websockets[process] = {"count": count, "at": at}

    def samples(self, family, series_names):
        with self._lock:
            return {name: list(self._samples.get((family, name), ())) for name in series_names}

    def totals(self, family):
        with self._lock:
            return dict(self._totals[family])

    def sums(self, family):
        with self._lock:
            return dict(self._sums[family])

    def window_counts(self, family, minutes):
        counts = Counter()
        with self._lock:
            for minute in minutes:
                counts.update(self._minutes.get((family, minute), {}))
        return counts

    def recent_failures(self, limit=KEEP_FAILURES):
        with self._lock:
            return list(self._failures)[:limit]

    def workers(self):
        with self._lock:
            return {name: dict(record) for name, record in self._workers.items()}

    def websocket_counts(self):
        with self._lock:
            return {name: dict(record) for name, record in self._websockets.items()}

    def websocket_forget(self, processes) -> None:
        with self._lock:
            for process in processes:
                self._websockets.pop(process, None)

    def alert_open(self, key, record) -> bool:
        with self._lock:
            if key in self._alerts:
                return False
            self._alerts[key] = dict(record)
            return True

    def alert_close(self, key):
        with self._lock:
            return self._alerts.pop(key, None)

    def alerts_active(self):
        with self._lock:
            return {key: dict(record) for key, record in self._alerts.items()}

    def meta_set(self, name, value) -> None:
        with self._lock:
            self._meta[name] = value

    def meta_get(self, name):
        with self._lock:
            return self._meta.get(name)

    def ping(self) -> None:
        pass


_stores: dict[str, RedisStore | MemoryStore] = {}
_stores_lock = threading.Lock()


def get_store() -> RedisStore | MemoryStore:
    """The store for the current configuration (one per Redis URL, one in-process)."""
    url = monitoring_redis_url()
    store = _stores.get(url)
    if store is None:
        with _stores_lock:
            store = _stores.get(url)
            if store is None:
                store = RedisStore(url) if url else MemoryStore()
                _stores[url] = store
    return store


def use_store(store) -> None:
    """Make `store` the one for the current configuration (tests isolate themselves
    with a private prefix)."""
    with _stores_lock:
        _stores[monitoring_redis_url()] = store
