"""Checks on identifiers, shared by every app that takes them from people."""

import datetime
import re

# GB 11643-1999: the 18th character is the ISO 7064 MOD 11-2 check of the first 17.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


def national_id_check_digit(first17: str) -> str:
    return _CHECK[sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS)) % 11]


def national_id_problem(value: str) -> str | None:
    """None for a well-formed resident ID number; otherwise which part is wrong:
    "format" (not 17 digits and a digit or X), "birth_date" or "checksum"."""
    value = (value or "").strip().upper()
    if not _SHAPE.match(value):
        return "format"
    try:
        birth = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "birth_date"
    if birth.year < 1900 or birth > datetime.date.today():
        return "birth_date"
    if national_id_check_digit(value[:17]) != value[17]:
        return "checksum"
    return None


def national_id_facts(value: str) -> tuple[datetime.date, str]:
    """Birth date and sex ("M"/"F": the 17th digit is odd for men) of a valid number."""
    value = value.strip().upper()
    birth = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    return birth, ("M" if int(value[16]) % 2 else "F")
