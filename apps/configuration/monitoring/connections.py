"""Counting open WebSocket connections per server process.

The consumer calls websocket_opened() after accepting and websocket_closed() on
disconnect. Both only touch memory (they run on the event loop); a reporter thread
writes this process's count to the store when it changes and every
REFRESH_SECONDS, so readers can drop the count of a process that died
(older than STALE_SECONDS).
"""

import logging
import os
import socket
import threading
import time

from .store import get_store

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 30.0
STALE_SECONDS = 3 * REFRESH_SECONDS

_lock = threading.Lock()
_count = 0
_changed = threading.Event()
_reporter_pid: int | None = None


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def local_websocket_count() -> int:
    return _count


def _report_forever():
    reported = None
    while True:
        _changed.wait(REFRESH_SECONDS)
        _changed.clear()
        count = _count
        if count == 0 and reported == 0:
            continue  # an idle process need not keep saying so; a stale 0 counts as 0
        try:
            get_store().websocket_report(process_name(), count, time.time())
            reported = count
        except Exception:
            logger.exception("monitoring: websocket count")


def _ensure_reporter():
    global _reporter_pid
    if _reporter_pid == os.getpid():
        return
    with _lock:
        if _reporter_pid != os.getpid():  # first use in this process (or after a fork)
            threading.Thread(target=_report_forever, name="monitoring-websockets", daemon=True).start()
            _reporter_pid = os.getpid()


def websocket_opened() -> None:
    global _count
    with _lock:
        _count += 1
    _changed.set()
    _ensure_reporter()


def websocket_closed() -> None:
    global _count
    with _lock:
        _count = max(0, _count - 1)
    _changed.set()
    _ensure_reporter()
