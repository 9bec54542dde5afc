"""Pure time arithmetic for plans: no database, no Django settings.

Wall-clock times are interpreted in the plan's own zone with zoneinfo, never in the
server's TIME_ZONE. Asia/Shanghai has had no daylight saving since 1991, so every
local time exists exactly once; for zones that do shift, a time skipped by the spring
change moves forward by the gap and a repeated autumn time is taken once (fold=0).
"""

import datetime
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_DOSES_PER_DAY = 12
DAY = datetime.timedelta(days=1)


def parse_time(value: str) -> datetime.time:
    """"HH:MM" between 00:00 and 23:59, or ValueError."""
    match = TIME_PATTERN.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(value)
    return datetime.time(int(match[1]), int(match[2]))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(name) from None


def local_instant(day: datetime.date, at: datetime.time, tz: ZoneInfo) -> datetime.datetime:
    """The UTC instant of wall time `at` on `day` in `tz`."""
    naive = datetime.datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz, fold=0)
    # A nonexistent local time (spring forward) does not round-trip; zoneinfo gives
    # the instant the wall clock would have shown it, which is the gap's far side.
    return aware.astimezone(datetime.timezone.utc)


def dose_instants(*, times: list[str], tz_name: str, start: datetime.date, end: datetime.date | None,
                  once: bool, from_day: datetime.date, to_day: datetime.date) -> list[datetime.datetime]:
    """Due instants (UTC) of a plan's doses on local days from_day..to_day inclusive."""
    tz = zone(tz_name)
    last = start if once else (end or to_day)
    first_day, last_day = max(start, from_day), min(last, to_day)
    parsed = sorted(parse_time(value) for value in times)
    instants = []
    day = first_day
    while day <= last_day:
        instants.extend(local_instant(day, at, tz) for at in parsed)
        day += DAY
    return instants


def dosing_interval(times: list[str]) -> datetime.timedelta:
    """The usual gap between doses: a day divided by the doses in it."""
    return DAY / max(len(times), 1)


@dataclass(frozen=True)
class CatchUpAdvice:
    advice: str  # "take_now" or "skip"
    late_minutes: int
    interval_minutes: int
    threshold_minutes: int


def catch_up_advice(*, due: datetime.datetime, now: datetime.datetime, interval: datetime.timedelta,
                    max_fraction: float) -> CatchUpAdvice:
    """Take a missed dose now if less than `max_fraction` of the dosing interval has
    passed since it was due; otherwise skip it and take the next one as usual (never
    a double dose)."""
    late = max(now - due, datetime.timedelta(0))
    threshold = interval * max_fraction
    return CatchUpAdvice(
        advice="take_now" if late < threshold else "skip",
        late_minutes=int(late.total_seconds() // 60),
        interval_minutes=int(interval.total_seconds() // 60),
        threshold_minutes=int(threshold.total_seconds() // 60),
    )
