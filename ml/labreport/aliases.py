"""Printed item name -> standard indicator code.

Names are normalised first (full-width to half-width, case, spaces, brackets, stray
punctuation and the OCR's usual confusions), then looked up exactly; failing that, the
closest alias by edit distance wins if it is close enough for its length. Items that
differ only in "absolute count" versus "percentage" are told apart by the unit when the
name alone is ambiguous after an OCR error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ml.labreport.indicators import INDICATORS

# Characters OCR engines swap for one another in these names (wrong -> right).
_OCR_CONFUSIONS = str.maketrans({
    "记": "计", "紬": "细", "绌": "细", "胸": "胞", "泡": "胞", "柏": "粒", "拉": "粒", "淅": "淋",
    "巳": "巴", "己": "巴", "扳": "板", "极": "板", "臼": "白", "枳": "积", "效": "数",
    "亩": "宽", "戚": "碱", "咸": "碱", "嘻": "嗜", "耆": "嗜", "酞": "酸", "駿": "酸",
    "栓": "检",
})
_DROP = re.compile(r"[\s\"'`’‘“”()（）\[\]【】{}<>《》:：;；,，.。·・*★☆#＃_\-—–~～|/\\]")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return _DROP.sub("", text).translate(_OCR_CONFUSIONS)


def _keep_hash(text: str) -> str:
    """Like `normalise` but keeps # and %, which tell "NEUT#" from "NEUT%"."""
    text = unicodedata.normalize("NFKC", text).lower().replace("＃", "#")
    return re.sub(r"[\s\"'()（）\[\]:：*]", "", text).translate(_OCR_CONFUSIONS)


@dataclass(frozen=True)
class Match:
    code: str
    alias: str
    distance: int


@lru_cache(maxsize=1)
def _alias_table() -> tuple[dict[str, str], dict[str, str]]:
    """(exact table keeping #/%, loose table without them): alias -> code."""
    exact: dict[str, str] = {}
    loose: dict[str, str] = {}
    for indicator in INDICATORS:
        for alias in (indicator.code, indicator.name, *indicator.aliases):
            exact.setdefault(_keep_hash(alias), indicator.code)
            key = normalise(alias)
            # A loose key shared by a count and a percentage ("NEUT" for NEUT# and NEUT%)
            # is ambiguous: keep it out so the unit decides.
            if key in loose and loose[key] != indicator.code:
                loose[key] = ""
            else:
                loose.setdefault(key, indicator.code)
    return exact, {key: code for key, code in loose.items() if code}


def _edit_distance(a: str, b: str, limit: int) -> int:
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _allowed_distance(key: str) -> int:
    """Short keys must match exactly (WBC vs RBC differ by one letter); long Chinese
    names tolerate an OCR slip per four characters, at most two."""
    if len(key) <= 3:
        return 0
    return min(2, len(key) // 4)


def match_name(text: str) -> Match | None:
    exact, loose = _alias_table()
    hashed = _keep_hash(text)
    if hashed in exact:
        return Match(exact[hashed], hashed, 0)
    key = normalise(text)
    if not key:
        return None
    if key in loose:
        return Match(loose[key], key, 0)
    limit = _allowed_distance(key)
    if limit == 0:
        return None
    best: Match | None = None
    for alias, code in loose.items():
        if len(alias) <= 3:
            continue
        distance = _edit_distance(key, alias, limit)
        if distance <= limit and (best is None or distance < best.distance):
            best = Match(code, alias, distance)
    return best


# Counts and percentages of the same cell type: (count code, percentage code).
_COUNT_PERCENT = {"NEUT": ("NEUT#", "NEUT%"), "LYMPH": ("LYMPH#", "LYMPH%"), "MONO": ("MONO#", "MONO%"),
                  "EO": ("EO#", "EO%"), "BASO": ("BASO#", "BASO%")}


def resolve_with_unit(code: str, unit: str) -> str:
    """Fix a count/percentage mix-up when the unit says otherwise."""
    stem = code.rstrip("#%")
    if stem in _COUNT_PERCENT and unit:
        count, percent = _COUNT_PERCENT[stem]
        return percent if unit == "%" else count
    return code
