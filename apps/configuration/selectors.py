"""Reading settings: a dictionary lookup in the common case.

Each process keeps the typed values of the platform and of each hospital it serves.
It checks the shared cache (Redis in production) for a newer version at most once
per CHECK_INTERVAL_SECONDS, and reloads with one query only when a version changed.
A change made in this process is seen at once; in other processes within the
interval.
"""

import time
from dataclasses import dataclass
from threading import Lock
from typing import Any

from django.core.cache import cache

from apps.tenancy.context import current_hospital_id

from .models import HospitalSettingValue, PlatformSettingValue
from .registry import SettingDefinition, registry

CHECK_INTERVAL_SECONDS = 1.0
PLATFORM = "platform"


class UnknownSettingError(KeyError):
    pass


def version_key(scope) -> str:
    return f"configuration:version:{scope}"


@dataclass
class _Snapshot:
    version: Any
    values: dict[str, Any]
    check_after: float


_snapshots: dict[Any, _Snapshot] = {}
_lock = Lock()


def forget_local(scope=None) -> None:
    """Drop this process's copy (of one scope, or all): the next read reloads."""
    with _lock:
        if scope is None:
            _snapshots.clear()
        else:
            _snapshots.pop(scope, None)


def _load(scope) -> dict[str, Any]:
    if scope == PLATFORM:
        rows = PlatformSettingValue.objects.values_list("key", "value")
    else:
        rows = HospitalSettingValue.objects.filter(hospital_id=scope).values_list("key", "value")
    values = {}
    for key, stored in rows:
        definition = registry.get(key)
        if definition is not None:  # a value for a setting no longer declared is ignored
            values[key] = definition.to_python(stored)
    return values


def _scope_values(scope) -> dict[str, Any]:
    if scope != PLATFORM and scope != current_hospital_id():
        # Outside its context a hospital's rows are invisible; caching that emptiness
        # would silently serve defaults.
        raise RuntimeError("read a hospital's settings inside its tenant context")
    now = time.monotonic()
    snapshot = _snapshots.get(scope)
    if snapshot is not None and now < snapshot.check_after:
        return snapshot.values
    version = cache.get(version_key(scope), 0)
    if snapshot is not None and snapshot.version == version:
        snapshot.check_after = now + CHECK_INTERVAL_SECONDS
        return snapshot.values
    values = _load(scope)
    with _lock:
        _snapshots[scope] = _Snapshot(version=version, values=values, check_after=now + CHECK_INTERVAL_SECONDS)
    return values


def setting_definition(key: str) -> SettingDefinition:
    definition = registry.get(key)
    if definition is None:
        raise UnknownSettingError(key)
    return definition


def setting_value(key: str) -> Any:
    """The effective value for the current hospital: its own, else the platform's,
    else the declared default. Outside any hospital: the platform's or the default."""
    definition = setting_definition(key)
    hospital_id = current_hospital_id()
    if hospital_id is not None and definition.hospital_may_override:
        hospital_values = _scope_values(hospital_id)
        if key in hospital_values:
            return hospital_values[key]
    platform_values = _scope_values(PLATFORM)
    if key in platform_values:
        return platform_values[key]
    return definition.to_python(definition.default)


def settings_effective(*, hospital_id: int | None) -> list[dict]:
    """Every declared setting with its effective value and where that comes from."""
    hospital_values = _scope_values(hospital_id) if hospital_id is not None else {}
    platform_values = _scope_values(PLATFORM)
    rows = []
    for definition in registry.all():
        if definition.hospital_may_override and definition.key in hospital_values:
            value, source = hospital_values[definition.key], "hospital"
        elif definition.key in platform_values:
            value, source = platform_values[definition.key], "platform"
        else:
            value, source = definition.to_python(definition.default), "default"
        rows.append({**definition.describe(), "value": _jsonable(definition, value), "source": source})
    return rows


def _jsonable(definition: SettingDefinition, value):
    if definition.type == "time":
        return value.strftime("%H:%M")
    if definition.type == "int_range":
        return list(value)
    return value
