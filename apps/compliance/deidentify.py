"""De-identification: the one place a record becomes fit to leave the hospital.

    deidentify_records(records, purpose="research", mode="anonymise", k=5)

* Direct identifiers (name, national ID, phone, address, record number, ...) are
  dropped.
* The patient id becomes a keyed pseudonym (HMAC under a per-purpose key derived
  from the key ring) in "pseudonymise" mode, so one study can follow a patient
  without learning who it is and two purposes cannot join their data; "anonymise"
  drops it. With a `recipient` (a partner platform, say) the key is narrowed further
  to that recipient, so two recipients of the same purpose cannot join theirs either;
  without one the pseudonym is the per-purpose one, unchanged.
* Dates are generalised to the month (pseudonymise) or year (anonymise), ages to
  5- or 10-year bands, regions (GB/T 2260 area codes) to the city or province.
* Free text is masked by the registered text maskers: the built-in recogniser
  finds mainland-China ID numbers (with the GB 11643 check digit), phone numbers
  and addresses; the clinical NER registers its own after merge
  (`register_text_masker("ner", spans_fn)`).
* A k-anonymity check over the quasi-identifiers suppresses the records of groups
  smaller than k and reports the k reached.
"""

import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from django.utils.translation import gettext as _

from apps.core.exceptions import DomainError

from .keys import derived_key

DIRECT_IDENTIFIERS = frozenset({"name", "national_id", "phone", "address", "medical_record_number", "email",
                                "openid", "user", "user_id", "contact", "emergency_contact"})
DATE_FIELDS = frozenset({"birth_date", "started_at", "ended_at", "diagnosed_at", "created_at", "admitted_at",
                         "discharged_at", "collected_at"})
TEXT_FIELDS = frozenset({"record_text", "text", "note", "notes", "summary", "comment"})
DEFAULT_QUASI_IDENTIFIERS = ("sex", "birth_date", "age", "region")

# --- free-text recognisers ---------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_PATTERN = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE_PATTERN = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)")
_LANDLINE_PATTERN = re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")
_ADDRESS_PATTERN = re.compile(
    r"[\u4e00-\u9fa5]{2,8}(?:省|自治区|市)?[\u4e00-\u9fa5]{0,8}(?:市|区|县|旗)[\u4e00-\u9fa5]{0,10}"
    r"(?:路|街|大道|巷|胡同|弄|里|村|镇|乡)(?:[\u4e00-\u9fa50-9]{0,8}?\d+[号弄栋幢])?(?:\d+(?:单元|室|楼|号))*")


def national_id_valid(value: str) -> bool:
    """GB 11643-1999: the 18th character is a check digit over the first 17."""
    if not re.fullmatch(r"\d{17}[\dXx]", value):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == value[17].upper()


def identifier_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, label) of ID numbers (checksum-valid only: an 18-digit lab
    sample number is not a person), phone numbers and addresses."""
    spans = [(m.start(1), m.end(1), "ID") for m in _ID_PATTERN.finditer(text) if national_id_valid(m.group(1))]
    spans += [(m.start(), m.end(), "PHONE") for m in _MOBILE_PATTERN.finditer(text)]
    spans += [(m.start(), m.end(), "PHONE") for m in _LANDLINE_PATTERN.finditer(text)]
    spans += [(m.start(), m.end(), "ADDRESS") for m in _ADDRESS_PATTERN.finditer(text)]
    return spans


SpanFinder = Callable[[str], list]
_maskers: dict[str, SpanFinder] = {"identifiers": identifier_spans}


def register_text_masker(name: str, finder: SpanFinder) -> None:
    """Add a span finder (text -> [(start, end, label)]); the clinical NER registers
    one for person names, places and organisations."""
    _maskers[name] = finder


def mask_text(text: str) -> str:
    spans = sorted((span for finder in _maskers.values() for span in finder(text)), key=lambda s: (s[0], -s[1]))
    out, position = [], 0
    for start, end, label in spans:
        if start < position:
            continue  # overlaps a span already masked
        out.append(text[position:start])
        out.append(f"[{label}]")
        position = end
    out.append(text[position:])
    return "".join(out)


# --- generalisation ----------------------------------------------------------------------


RECIPIENT_MAX_LENGTH = 200


def recipient_checked(recipient) -> str:
    """Empty (no recipient) or an exact, non-blank label of at most 200 characters. A
    blank or padded label is refused rather than cleaned: " " falling back to the
    per-purpose pseudonym, or "partner:a " differing from "partner:a", would break
    the separation or the linkage without anyone noticing."""
    if recipient is None or recipient == "":
        return ""
    if (not isinstance(recipient, str) or not recipient.strip() or recipient != recipient.strip()
            or len(recipient) > RECIPIENT_MAX_LENGTH):
        raise DomainError(_("The recipient must be a stable identifier of at most %(max)s characters, without "
                            "surrounding spaces.") % {"max": RECIPIENT_MAX_LENGTH}, code="invalid",
                          fields={"recipient": [str(recipient)[:RECIPIENT_MAX_LENGTH]]})
    return recipient


def _pseudonym_key(purpose: str, recipient: str) -> bytes:
    """The per-purpose key (HMAC of the ring key, label "pseudonym:<purpose>"), or,
    for a recipient, a key derived from it under its own label: HMAC(purpose key,
    b"pseudonym-recipient" + a zero byte + recipient). The purpose is bound by the key the
    recipient's is derived from, and the fixed label keeps the derivation apart from
    any other use of that key, so no purpose, recipient pair can give another's key.
    No recipient: the per-purpose key itself, so earlier pseudonyms stay as they were."""
    _key_id, key = derived_key(f"pseudonym:{purpose}")
    if not recipient:
        return key
    return hmac.new(key, b"pseudonym-recipient\x00" + recipient.encode(), hashlib.sha256).digest()


def pseudonym(value, *, purpose: str, hospital_id: int, recipient: str = "") -> str:
    key = _pseudonym_key(purpose, recipient_checked(recipient))
    return hmac.new(key, f"{hospital_id}\x00{value}".encode(), hashlib.sha256).hexdigest()[:20]


def generalise_date(value, mode: str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return f"{value.year:04d}" if mode == "anonymise" else f"{value.year:04d}-{value.month:02d}"


def age_band(age: int, mode: str) -> str:
    width = 10 if mode == "anonymise" else 5
    if age >= 90:
        return "90+"  # the oldest are few and easily found
    low = age // width * width
    return f"{low}-{low + width - 1}"


def generalise_region(code: str, mode: str) -> str:
    """A GB/T 2260 area code (110105) to its city (1101) or province (11)."""
    digits = re.sub(r"\D", "", str(code))
    return digits[:2] if mode == "anonymise" else digits[:4]


MODES = ("pseudonymise", "anonymise")


def deidentify_record(record: dict, *, purpose: str, mode: str, hospital_id: int, recipient: str = "") -> dict:
    """`recipient`: who receives the record (e.g. "partner:<code>"); narrows the
    pseudonym to that recipient. Empty: the per-purpose pseudonym."""
    if mode not in MODES:
        raise DomainError(_("Unknown de-identification mode."), code="invalid", fields={"mode": [mode]})
    recipient = recipient_checked(recipient)
    out = {}
    for name, value in record.items():
        if name in DIRECT_IDENTIFIERS:
            continue
        if name in ("patient_id", "id"):
            if mode == "pseudonymise" and value is not None:
                out["pseudonym"] = pseudonym(value, purpose=purpose, hospital_id=hospital_id, recipient=recipient)
            continue
        if value is None:
            out[name] = None
        elif name in DATE_FIELDS:
            out[name] = generalise_date(value, mode)
        elif name == "age":
            out[name] = age_band(int(value), mode)
        elif name == "region":
            out[name] = generalise_region(value, mode)
        elif name in TEXT_FIELDS or isinstance(value, str) and len(value) > 40:
            out[name] = mask_text(str(value))
        else:
            out[name] = value
    return out


def k_anonymity(records: list[dict], quasi_identifiers) -> tuple[int, Counter]:
    """The smallest equivalence class over the quasi-identifiers present, and every
    class's size."""
    present = [q for q in quasi_identifiers if any(q in r for r in records)]
    classes = Counter(tuple(r.get(q) for q in present) for r in records)
    return (min(classes.values()) if classes else 0), classes


@dataclass(frozen=True)
class DeidentifiedSet:
    records: list
    k: int
    suppressed: int
    purpose: str
    mode: str
    recipient: str = ""


def deidentify_records(records, *, purpose: str, mode: str, hospital_id: int, k: int = 5,
                       quasi_identifiers=DEFAULT_QUASI_IDENTIFIERS, recipient: str = "") -> DeidentifiedSet:
    """De-identify every record, then suppress records in classes smaller than `k`.
    Raises k_anonymity_not_met (400) when nothing would be left. `recipient`: see
    `deidentify_record`."""
    recipient = recipient_checked(recipient)
    out = [deidentify_record(r, purpose=purpose, mode=mode, hospital_id=hospital_id, recipient=recipient)
           for r in records]
    _k, classes = k_anonymity(out, quasi_identifiers)
    present = [q for q in quasi_identifiers if any(q in r for r in out)]
    kept = [r for r in out if classes[tuple(r.get(q) for q in present)] >= k]
    if out and not kept:
        raise DomainError(_("No record is in a group of at least %(k)s alike; generalise more or ask for fewer "
                            "quasi-identifiers.") % {"k": k}, code="k_anonymity_not_met")
    reached, _classes = k_anonymity(kept, quasi_identifiers)
    return DeidentifiedSet(kept, reached, len(out) - len(kept), purpose, mode, recipient)
