"""Feature tags: what a platform speaks, what it studies and what it accepts, and
whether a rare case fits a partner.

A tag is built from three attributes:

* communication: the sharing protocols it speaks (``hp-share/1``) and the FHIR
  release of its bundles;
* research focus: ICD-10 code prefixes (``E75``, ``G71.0``), ICD-10 ranges
  (``E70-E90``), category names as the rarity analysis writes them, or ``*``;
* data categories it accepts: ``condition`` (always needed), ``observation``,
  ``diagnostic_report``.

Its canonical text (``protocols=hp-share/1;fhir=4.3;focus=E70-E90,G71;data=condition,observation``)
is stored on the partner and shown in the web admin, so two tags compare as strings.

`case_matches_tag` is the rule step 7 applies: a case fits a tag when some focus
term covers the case's ICD-10 code, one of its retrieval feature's codes, or its
category. Pure functions, no database: the selectors feed them.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .models import DataCategory

FHIR_VERSION = "4.3"  # fhir.resources ships R4B (4.3.0), the R4-compatible release; see docs/partners.md
DEFAULT_PROTOCOL = "hp-share/1"
REQUIRED_CATEGORY = DataCategory.CONDITION.value
_ICD_PREFIX = re.compile(r"^[A-Z](?:[0-9](?:[0-9][0-9A-Z]{0,4})?)?$")  # Q, E7, E75, E752, S72001A
_ICD_RANGE = re.compile(r"^([A-Z][0-9]{2})-([A-Z][0-9]{2})$")


def normalise_code(code: str) -> str:
    """`e75.22 ` -> `E7522`: ICD-10 codes compare without dots, spaces or case."""
    return re.sub(r"[\s.]", "", str(code or "")).upper()


def normalise_focus_term(term: str) -> str:
    term = str(term or "").strip()
    if term == "*":
        return term
    if _ICD_RANGE.match(term.upper().replace(" ", "")):
        return term.upper().replace(" ", "")
    compact = normalise_code(term)
    if _ICD_PREFIX.match(compact):
        return compact
    return term.casefold()


def split_list(value) -> list[str]:
    """A comma-separated setting or a JSON list -> clean, de-duplicated items in order."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    seen, out = set(), []
    for item in (str(i).strip() for i in items):
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out


@dataclass(frozen=True)
class FeatureTag:
    protocols: tuple[str, ...]
    fhir_version: str = FHIR_VERSION
    research_focus: tuple[str, ...] = field(default_factory=tuple)
    data_categories: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def build(cls, *, protocols, research_focus, data_categories, fhir_version: str = FHIR_VERSION) -> "FeatureTag":
        focus = tuple(dict.fromkeys(normalise_focus_term(t) for t in split_list(research_focus)))
        categories = tuple(c for c in DataCategory.values if c in split_list(data_categories))
        return cls(protocols=tuple(split_list(protocols)), fhir_version=str(fhir_version or FHIR_VERSION),
                   research_focus=focus, data_categories=categories)

    @property
    def text(self) -> str:
        return (f"protocols={','.join(self.protocols)};fhir={self.fhir_version};"
                f"focus={','.join(self.research_focus)};data={','.join(self.data_categories)}")

    def as_dict(self) -> dict:
        return {"protocols": list(self.protocols), "fhir_version": self.fhir_version,
                "research_focus": list(self.research_focus), "data_categories": list(self.data_categories),
                "text": self.text}


def partner_tag(partner) -> FeatureTag:
    communication = partner.communication or {}
    return FeatureTag.build(protocols=communication.get("protocols") or [DEFAULT_PROTOCOL],
                            fhir_version=communication.get("fhir_version") or FHIR_VERSION,
                            research_focus=partner.research_focus, data_categories=partner.data_categories)


def _term_covers(term: str, codes: list[str], categories: list[str]) -> str | None:
    """Why `term` covers the case ("icd10:E75", "range:E70-E90", "category:..."), or None."""
    if term == "*":
        return "focus:*"
    interval = _ICD_RANGE.match(term)
    if interval:
        low, high = interval.groups()
        hit = next((c for c in codes if len(c) >= 3 and low <= c[:3] <= high), None)
        return f"range:{term}" if hit else None
    if _ICD_PREFIX.match(term) and any(code.startswith(term) for code in codes):
        return f"icd10:{term}"
    if term in categories:
        return f"category:{term}"
    return None


def case_codes_and_categories(*, icd10_code: str, category: str, retrieval_feature: dict | None
                              ) -> tuple[list[str], list[str]]:
    feature = retrieval_feature if isinstance(retrieval_feature, dict) else {}
    extra = feature.get("codes") if isinstance(feature.get("codes"), list) else []
    codes = [normalise_code(c) for c in [icd10_code, *extra] if c]
    categories = [str(c).strip().casefold() for c in (category, feature.get("category")) if c]
    return list(dict.fromkeys(codes)), list(dict.fromkeys(categories))


def case_matches_tag(tag: FeatureTag, *, icd10_code: str, category: str, retrieval_feature: dict | None
                     ) -> list[str]:
    """The focus terms of `tag` that cover the case, each with why; empty: no match."""
    codes, categories = case_codes_and_categories(icd10_code=icd10_code, category=category,
                                                  retrieval_feature=retrieval_feature)
    return [why for why in (_term_covers(term, codes, categories) for term in tag.research_focus) if why]


def tags_can_talk(ours: FeatureTag, theirs: FeatureTag) -> bool:
    """A common protocol, and they accept at least the diagnosis."""
    return bool(set(ours.protocols) & set(theirs.protocols)) and REQUIRED_CATEGORY in theirs.data_categories


def categories_to_send(theirs: FeatureTag, available: Iterable[str] = DataCategory.values) -> list[str]:
    """What a share to them carries: only what they accept."""
    return [c for c in available if c in theirs.data_categories]
