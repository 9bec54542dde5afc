"""The propagation index of a case: how far and how deep it travelled, recently.

Tracking data are transmission events: someone forwarded, shared or downloaded the
case; `parent` is the event through which this person got it (None when they found
it themselves, or when the parent is outside the data given). Each event reaches a
`recipient` (the person forwarded to, shared with, or who downloaded).

    index = sum over distinct recipients r of  max over events e reaching r of
            decay(e) * (1 + depth_weight * (depth(e) - 1))
    decay(e) = 0.5 ** ((now - e.at) / half_life), at most 1
    depth(e) = hops between distinct people from the start of its chain
               (1 for an event without a known parent; a download by the person who
               received the parent event adds no hop)

So the index counts people reached, a person reached further down a chain counts
more (the case was passed on by people other than its first readers), an old
transmission counts less, and nobody counts twice. With `now` fixed, adding an
event never lowers the index; the order of events does not matter. Pure function,
no I/O.
"""

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

KINDS = ("forward", "share", "download")


@dataclass(frozen=True)
class TransmissionEvent:
    id: Hashable
    parent: Hashable | None
    recipient: Hashable | None
    at: float | datetime  # any unit (period index, hours, POSIX seconds) or a datetime
    kind: str = "forward"


@dataclass(frozen=True)
class PropagationSummary:
    events: int
    recipients: int       # distinct people reached
    max_depth: int
    max_breadth: int      # most distinct people reached at one depth
    decayed_reach: float  # recipients weighted by recency only
    index: float


def _event(raw) -> TransmissionEvent:
    if isinstance(raw, TransmissionEvent):
        return raw
    if isinstance(raw, Mapping):
        missing = {"id", "parent", "recipient", "at"} - set(raw)
        if missing:
            raise ValueError(f"a transmission event lacks {sorted(missing)}")
        return TransmissionEvent(raw["id"], raw["parent"], raw["recipient"], raw["at"], raw.get("kind", "forward"))
    raw = tuple(raw)
    if len(raw) not in (4, 5):
        raise ValueError("a transmission event is (id, parent, recipient, at[, kind])")
    return TransmissionEvent(*raw)


def _seconds_or_number(value, name: str):
    if isinstance(value, datetime):
        return value.timestamp(), True
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number or a datetime, not {value!r}")
    return float(value), False


def _depths(events: dict) -> dict:
    depths = {}
    for start in events:
        path, on_path = [], set()
        node = start
        while node is not None and node not in depths:
            if node in on_path:
                raise ValueError(f"the parent links form a cycle through event {node!r}")
            path.append(node)
            on_path.add(node)
            parent = events[node].parent
            node = parent if parent in events else None
        for node in reversed(path):
            event = events[node]
            if event.parent in events:
                parent = events[event.parent]
                hop = 0 if event.recipient is not None and event.recipient == parent.recipient else 1
                depths[node] = depths[event.parent] + hop
            else:
                depths[node] = 1
    return depths


def propagation_summary(events: Iterable, *, now=None, half_life: float | timedelta = 1.0,
                        depth_weight: float = 0.5) -> PropagationSummary:
    """See the module docstring. `now` defaults to the latest event's time;
    `half_life` is in the unit of `at` (a timedelta when `at` are datetimes)."""
    parsed = [_event(raw) for raw in events]
    if not parsed:
        return PropagationSummary(0, 0, 0, 0, 0.0, 0.0)
    if depth_weight < 0:
        raise ValueError("depth_weight must not be negative")
    by_id = {}
    times = []
    kinds = set()
    for event in parsed:
        if event.id is None:
            raise ValueError("a transmission event has no id")
        if event.id in by_id:
            raise ValueError(f"event id {event.id!r} appears twice")
        if event.kind not in KINDS:
            raise ValueError(f"event {event.id!r} has kind {event.kind!r}; expected one of {KINDS}")
        by_id[event.id] = event
        time, is_datetime = _seconds_or_number(event.at, "at")
        times.append(time)
        kinds.add(is_datetime)
    if len(kinds) > 1:
        raise ValueError("event times mix datetimes and numbers")
    uses_datetimes = kinds.pop()
    if isinstance(half_life, timedelta):
        if not uses_datetimes:
            raise ValueError("half_life is a timedelta but event times are numbers")
        half_life = half_life.total_seconds()
    half_life, _ = _seconds_or_number(half_life, "half_life")
    if half_life <= 0:
        raise ValueError("half_life must be positive")
    if now is None:
        now_value = max(times)
    else:
        now_value, now_is_datetime = _seconds_or_number(now, "now")
        if now_is_datetime != uses_datetimes:
            raise ValueError("now and the event times must both be datetimes or both numbers")

    depths = _depths(by_id)
    best_index: dict = {}
    best_decay: dict = {}
    by_depth: dict = {}
    for event, time in zip(parsed, times):
        depth = depths[event.id]
        if event.recipient is None:
            continue
        decay = min(1.0, 0.5 ** ((now_value - time) / half_life))
        weight = decay * (1.0 + depth_weight * (depth - 1))
        best_index[event.recipient] = max(best_index.get(event.recipient, 0.0), weight)
        best_decay[event.recipient] = max(best_decay.get(event.recipient, 0.0), decay)
        by_depth.setdefault(depth, set()).add(event.recipient)
    return PropagationSummary(
        events=len(parsed), recipients=len(best_index), max_depth=max(depths.values()),
        max_breadth=max((len(people) for people in by_depth.values()), default=0),
        decayed_reach=float(sum(best_decay.values())), index=float(sum(best_index.values())))


def propagation_index(events: Iterable, *, now=None, half_life: float | timedelta = 1.0,
                      depth_weight: float = 0.5) -> float:
    """The propagation index of one case's transmission events (see the module docstring)."""
    return propagation_summary(events, now=now, half_life=half_life, depth_weight=depth_weight).index
