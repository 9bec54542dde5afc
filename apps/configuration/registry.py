"""The registry of typed settings that apps declare in code.

    # apps/booking/declared_settings.py
    from apps.configuration.registry import declare

    BOOKING_WINDOW_DAYS = declare(
        "booking.window_days", "int", default=14, minimum=1, maximum=90,
        description=_("How many days ahead patients may book."),
    )

A declaration says what a value may be; the stored value (per hospital, or a
platform-wide default) must satisfy it. Read values with
`apps.configuration.selectors.setting_value(key)`.
"""

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from apps.tenancy.roles import Role

TYPES = ("int", "float", "bool", "str", "choice", "time", "int_range")
ADMIN_ROLES = frozenset({Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN})
_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


class SettingValueError(ValueError):
    """The value does not fit the declaration; the message says what would."""


@dataclass(frozen=True)
class SettingDefinition:
    key: str
    type: str
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 200
    editable_by: frozenset[str] = field(default=ADMIN_ROLES)
    hospital_may_override: bool = True

    def __post_init__(self):
        if not _KEY_PATTERN.match(self.key):
            raise ValueError(f"setting key {self.key!r} must look like 'app.name'")
        if self.type not in TYPES:
            raise ValueError(f"setting {self.key}: unknown type {self.type!r}")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"setting {self.key}: a choice needs choices")
        self.clean(self.default)  # a declaration whose default is invalid is a bug

    def clean(self, raw: Any) -> Any:
        """The JSON-storable value for `raw`, or SettingValueError."""
        cleaner = getattr(self, f"_clean_{self.type}")
        return cleaner(raw)

    def to_python(self, stored: Any) -> Any:
        if self.type == "time":
            return datetime.time.fromisoformat(stored)
        if self.type == "int_range":
            return tuple(stored)
        return stored

    def _check_bounds(self, value):
        if self.minimum is not None and value < self.minimum:
            raise SettingValueError(_("Must be at least %(minimum)s.") % {"minimum": self.minimum})
        if self.maximum is not None and value > self.maximum:
            raise SettingValueError(_("Must be at most %(maximum)s.") % {"maximum": self.maximum})
        return value

    def _clean_int(self, raw):
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise SettingValueError(_("Must be a whole number."))
        return self._check_bounds(raw)

    def _clean_float(self, raw):
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw != raw:
            raise SettingValueError(_("Must be a number."))
        return self._check_bounds(float(raw))

    def _clean_bool(self, raw):
        if not isinstance(raw, bool):
            raise SettingValueError(_("Must be true or false."))
        return raw

    def _clean_str(self, raw):
        if not isinstance(raw, str):
            raise SettingValueError(_("Must be text."))
        if len(raw) > self.max_length:
            raise SettingValueError(_("Must be at most %(n)s characters.") % {"n": self.max_length})
        return raw

    def _clean_choice(self, raw):
        if raw not in self.choices:
            raise SettingValueError(_("Must be one of: %(choices)s.") % {"choices": ", ".join(self.choices)})
        return raw

    def _clean_time(self, raw):
        if not isinstance(raw, str) or not re.fullmatch(r"\d{2}:\d{2}", raw):
            raise SettingValueError(_("Must be a time as HH:MM."))
        try:
            return datetime.time.fromisoformat(raw).strftime("%H:%M")
        except ValueError:
            raise SettingValueError(_("Must be a time as HH:MM.")) from None

    def _clean_int_range(self, raw):
        if (not isinstance(raw, (list, tuple)) or len(raw) != 2
                or any(isinstance(v, bool) or not isinstance(v, int) for v in raw)):
            raise SettingValueError(_("Must be two whole numbers [low, high]."))
        low, high = (self._check_bounds(v) for v in raw)
        if low > high:
            raise SettingValueError(_("The low end must not exceed the high end."))
        return [low, high]

    def describe(self) -> dict:
        return {
            "key": self.key, "type": self.type, "default": self.default, "description": str(self.description),
            "minimum": self.minimum, "maximum": self.maximum, "choices": list(self.choices),
            "editable_by": sorted(self.editable_by), "hospital_may_override": self.hospital_may_override,
        }


class SettingsRegistry:
    def __init__(self):
        self._definitions: dict[str, SettingDefinition] = {}

    def register(self, definition: SettingDefinition) -> SettingDefinition:
        existing = self._definitions.get(definition.key)
        if existing is not None and existing != definition:
            raise ValueError(f"setting {definition.key} is declared twice, differently")
        self._definitions[definition.key] = definition
        return definition

    def get(self, key: str) -> SettingDefinition | None:
        return self._definitions.get(key)

    def all(self) -> list[SettingDefinition]:
        return sorted(self._definitions.values(), key=lambda d: d.key)


registry = SettingsRegistry()


def declare(key: str, type: str, *, default, description, **options) -> SettingDefinition:
    if "choices" in options:
        options["choices"] = tuple(options["choices"])
    if "editable_by" in options:
        options["editable_by"] = frozenset(options["editable_by"])
    return registry.register(SettingDefinition(key=key, type=type, default=default, description=description, **options))
