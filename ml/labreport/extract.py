"""From OCR words to indicators: rows, cells, names, values, units, ranges, flags.

1. Rows: words whose vertical centres lie within half a text height of each other form
   a row (engines differ: Tesseract gives single characters, RapidOCR whole phrases).
2. Cells: inside a row, words closer than a gap threshold (relative to the text height)
   join into one cell; wide gaps are table column boundaries.
3. Items: a cell whose text is an indicator name (ml/labreport/aliases.py) opens an
   item; the cells after it, up to the next name, hold its result, flag, unit and
   range in any order. Two-column reports (two items side by side) work the same way.
4. Values: numbers are parsed after undoing the usual OCR slips (O->0, l->1, comma as
   decimal point); units are normalised and converted to the indicator's unit; the
   printed range wins over the fallback table; the flag is judged from value and range
   (the printed arrow only when no range is known).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ml.labreport.aliases import match_name, resolve_with_unit
from ml.labreport.indicators import INDICATORS_BY_CODE
from ml.labreport.types import ExtractedItem, Flag
from ml.ocr.types import Word

# --- rows and cells ---------------------------------------------------------------------


@dataclass
class Cell:
    text: str
    x0: int
    x1: int
    confidence: float


def group_rows(words: list[Word]) -> list[list[Word]]:
    """Words grouped into rows, top to bottom, each row left to right."""
    if not words:
        return []
    heights = sorted(w.height for w in words if w.height > 0)
    typical = heights[len(heights) // 2] if heights else 10
    rows: list[list[Word]] = []
    centres: list[float] = []
    for word in sorted(words, key=lambda w: w.y_center):
        if rows and abs(word.y_center - centres[-1]) <= 0.5 * typical:
            rows[-1].append(word)
            centres[-1] = sum(w.y_center for w in rows[-1]) / len(rows[-1])
        else:
            rows.append([word])
            centres.append(word.y_center)
    return [sorted(row, key=lambda w: w.box[0]) for row in rows]


def row_cells(row: list[Word], gap_factor: float = 1.2) -> list[Cell]:
    """Join words into cells; a gap wider than `gap_factor` text heights splits them."""
    heights = sorted(w.height for w in row)
    height = max(heights[len(heights) // 2], 1)
    cells: list[Cell] = []
    for word in row:
        if cells and word.box[0] - cells[-1].x1 <= gap_factor * height:
            last = cells[-1]
            joiner = " " if _is_ascii_word(last.text[-1:]) and _is_ascii_word(word.text[:1]) else ""
            cells[-1] = Cell(last.text + joiner + word.text, last.x0, word.box[2], min(last.confidence, word.confidence))
        else:
            cells.append(Cell(word.text, word.box[0], word.box[2], word.confidence))
    return cells


_GLUED_CODE_RE = re.compile(r"^(?P<code>[A-Za-z][A-Za-z0-9\-]*[#%]?)(?P<rest>[<>≤≥]?\d.*)$")
_CHINESE_RUN_RE = re.compile(r"[\u4e00-\u9fff]+")


def _split_code(text: str) -> int | None:
    """Where a code glued to its result ends ("NEUT#7.62" -> 5), or None. Only where
    the left part is exactly an indicator code or alias, so "HbA1c" stays whole."""
    if not _GLUED_CODE_RE.match(text) or match_name(text) is not None:
        return None
    # Shortest code first: alias matching ignores stray digits, so "PLT7" would pass
    # for PLT and eat the first digit of "PLT77".
    for cut in range(2, len(text)):
        left, right = text[:cut], text[cut:]
        if not (right[0].isdigit() or right[0] in "<>≤≥"):
            continue
        named = match_name(left)
        if named is not None and named.distance == 0 and parse_value(right.split()[0])[0] is not None:
            return cut
    return None


def _split_name(text: str) -> list[str] | None:
    """A Chinese indicator name with something glued before or after it, as two-column
    reports give when the columns touch ("82.0-100.0平均红细胞血红蛋白含量30.0",
    "平均红细胞血红蛋白浓度318"): the parts, or None. A row number glued in front
    ("10嗜酸性粒细胞百分比") is left to the name reader."""
    for run in _CHINESE_RUN_RE.finditer(text):
        before, name, after = text[:run.start()], run.group(), text[run.end():]
        if not (before or after) or match_name(name) is None:
            continue
        if before and _INDEX_RE.match(before) and not after:
            return None
        return [part for part in (before, name, after) if part]
    return None


def split_glued_cells(cells: list[Cell]) -> list[Cell]:
    """Undo cells that OCR glued across column boundaries: a code and its result, or
    a Chinese name with the previous item's range or its own result."""
    out: list[Cell] = []
    for cell in cells:
        text = _clean(cell.text)
        if (cut := _split_code(text)) is not None:
            parts = [text[:cut], text[cut:]]
        else:
            parts = _split_name(text) or [cell.text]
        # Share the cell's width between the parts in proportion to their length.
        x = cell.x0
        for part in parts:
            width = (cell.x1 - cell.x0) * len(part) // max(len(text), 1)
            out.append(Cell(part, x, x + width, cell.confidence))
            x += width
    return out


def _is_ascii_word(char: str) -> bool:
    return bool(char) and char.isascii() and char.isalnum()


# --- values, units, ranges, flags -------------------------------------------------------

_DIGIT_SLIPS = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "|": "1", "i": "1",
                              "S": "5", "s": "5", "B": "8", "Z": "2", "z": "2", "g": "9", ",": ".", "，": ".",
                              "。": ".", "·": ".", "．": ".", "_": ".", "—": "-", "–": "-", "~": "-", "～": "-",
                              "〜": "-"})
_NUMBER = r"\d+(?:\.\d+)?"
_VALUE_RE = re.compile(rf"^(?P<prefix>[<>≤≥])?(?P<number>{_NUMBER})(?P<flag>[↑↓HLhl]|[\]\[|tTJ!']{{1,2}})?$")
# What an arrow glued to a number turns into under OCR: a trailing 1 or 7 ("7.62↑" ->
# "7.621"), or a bracket or letter. Only undone when the rest is out of range.
_ARROW_AS_DIGIT = ("1", "7")
_RANGE_RE = re.compile(rf"^(?P<low>{_NUMBER})\s*-+\s*(?P<high>{_NUMBER})$")
_BOUND_RE = re.compile(rf"^(?P<op>[<>≤≥]|<=|>=)\s*(?P<number>{_NUMBER})$")
_FLAG_RE = re.compile(r"^[↑↓]$|^[HL]$|^(偏高|偏低|高|低)$")
_INDEX_RE = re.compile(r"^\d{1,2}$")
_UNIT_THEN_RANGE_RE = re.compile(rf"^(?P<unit>.*?[A-Za-zμµ/%])(?P<range>[<>≤≥]?{_NUMBER}(?:\s*[-~～]+\s*{_NUMBER})?)$")


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().replace(" ", "")


def _numeric(text: str) -> str:
    """Undo digit slips only in text that is mostly digits already."""
    text = _clean(text)
    digits = sum(c.isdigit() for c in text)
    if digits and digits >= 0.5 * len(text.rstrip("↑↓HL")):
        text = text.translate(_DIGIT_SLIPS)
    return text


def parse_value(text: str) -> tuple[float | None, str]:
    """(number, printed flag) for a result cell like "12.3", "12.3↑", "<0.01"."""
    match = _VALUE_RE.match(_numeric(text))
    if not match:
        return None, ""
    flag = (match["flag"] or "").strip().upper()
    return float(match["number"]), {"↑": Flag.HIGH, "↓": Flag.LOW, "H": Flag.HIGH, "L": Flag.LOW}.get(flag, "")


def _undo_glued_arrow(pending: "_Pending") -> None:
    """"7.621" where the report printed "7.62↑": when the value has one digit more than
    the indicator is printed with, ends in a digit an arrow is misread as, and both it
    and the value without that digit are out of range on the same side, the digit was
    the arrow."""
    indicator = INDICATORS_BY_CODE.get(pending.code)
    text = pending.value_text
    if indicator is None or pending.range is None or not text or text[-1] not in _ARROW_AS_DIGIT:
        return
    if pending.printed_flag:
        return  # the arrow was read, glued or in its own column: the digits are digits
    decimals = len(text.split(".")[1]) if "." in text else 0
    if decimals != indicator.decimals + 1 and not (indicator.decimals == 0 and decimals == 0 and len(text) >= 2):
        return
    shorter = text[:-1].rstrip(".")
    low, high = pending.range
    value = float(shorter)
    # Both readings out of range on the same side: a true in-range "207" stays 207.
    # Whole numbers only on the high side: dropping a digit divides a low count by ten
    # ("77" -> "7"), which would turn a plain low value into an implausible critical one.
    sides = ((Flag.HIGH, Flag.HIGH),) if decimals == 0 else ((Flag.HIGH, Flag.HIGH), (Flag.LOW, Flag.LOW))
    if (_judge(value, low, high), _judge(pending.value, low, high)) in sides:
        pending.value, pending.value_text = value, shorter


def parse_range(text: str) -> tuple[float | None, float | None] | None:
    text = _numeric(text)
    if match := _RANGE_RE.match(text):
        low, high = float(match["low"]), float(match["high"])
        return (low, high) if low <= high else None
    if match := _BOUND_RE.match(text):
        number = float(match["number"])
        return (None, number) if match["op"] in ("<", "≤", "<=") else (number, None)
    return None


def parse_flag(text: str) -> str:
    text = _clean(text)
    if not _FLAG_RE.match(text):
        return ""
    return Flag.HIGH if text in ("↑", "H", "高", "偏高") else Flag.LOW


# Printed unit (normalised) -> (canonical unit, factor to multiply the value by), per
# canonical unit family. The indicator's own unit decides which conversion applies.
_UNIT_SPELLINGS = {
    "10^9/l": "10^9/L", "10e9/l": "10^9/L", "x10^9/l": "10^9/L", "×10^9/l": "10^9/L", "10*9/l": "10^9/L",
    "10~9/l": "10^9/L", "10a9/l": "10^9/L", "10^9/1": "10^9/L", "109/l": "10^9/L",
    "10^12/l": "10^12/L", "10e12/l": "10^12/L", "x10^12/l": "10^12/L", "×10^12/l": "10^12/L", "10*12/l": "10^12/L",
    "10~12/l": "10^12/L", "10a12/l": "10^12/L", "1012/l": "10^12/L", "t/l": "10^12/L",
    "fl": "fL", "f1": "fL", "pg": "pg", "tpg": "pg", "gal": "g/L", "g/1": "g/L", "%": "%", "l/l": "L/L",
    "mmol/l": "mmol/L", "mg/dl": "mg/dL", "u/l": "U/L",
    "iu/l": "U/L", "umol/l": "µmol/L", "µmol/l": "µmol/L", "μmol/l": "µmol/L", "mmhg": "mmHg", "kpa": "kPa",
    "次/分": "次/分", "bpm": "次/分", "次/min": "次/分",
}
_CONVERSIONS = {
    # (printed unit, indicator unit) -> factor
    ("L/L", "%"): 100.0,
    ("mg/dL", "mmol/L"): None,  # depends on the substance: see _MG_DL_TO_MMOL
    ("kPa", "mmHg"): 7.50062,
}
_MG_DL_TO_MMOL = {"GLU": 1 / 18.0, "TC": 1 / 38.67, "HDL": 1 / 38.67, "LDL": 1 / 38.67, "TG": 1 / 88.57,
                  "UREA": 1 / 6.006}


# "10^9/L" as OCR engines print it: the caret read as anything or as a 4, L as 1.
_POWER_UNIT = re.compile(r"^[x×*]?10(?:\D|4)?(9|12)/[l1i|]$")


def normalise_unit(text: str) -> str:
    raw = _clean(text)
    key = re.sub(r"^([x×*]?)1[oO]", r"\g<1>10", raw).lower().replace("⁹", "^9").replace("¹²", "^12")
    if match := _POWER_UNIT.match(key):
        return f"10^{match[1]}/L"
    if key == "g/l":
        # "G/L" is giga per litre (= 10^9/L) on some analysers; "g/L" is grams.
        return "10^9/L" if raw == "G/L" else "g/L"
    return _UNIT_SPELLINGS.get(key) or ""


def convert(code: str, value: float, unit: str) -> tuple[float, str]:
    """The value in the indicator's own unit (unchanged when the units agree or the
    printed unit is unknown)."""
    indicator = INDICATORS_BY_CODE[code]
    if not unit or unit == indicator.unit:
        return value, indicator.unit
    if unit == "mg/dL" and code in _MG_DL_TO_MMOL:
        return round(value * _MG_DL_TO_MMOL[code], indicator.decimals), indicator.unit
    factor = _CONVERSIONS.get((unit, indicator.unit))
    if factor:
        return round(value * factor, indicator.decimals), indicator.unit
    return value, unit


# --- items ---------------------------------------------------------------------------------


@dataclass
class _Pending:
    code: str
    name: str
    confidence: float
    value: float | None = None
    value_text: str = ""
    printed_flag: str = ""
    unit: str = ""
    range: tuple[float | None, float | None] | None = None


def _name_cell(text: str):
    """An indicator name in a cell, also when the code sits beside it ("白细胞计数 WBC",
    "WBC 白细胞计数") or a row number is glued to it ("1白细胞计数")."""
    text = _printed_name(text)
    if len(text) < 2:
        return None
    if match := match_name(text):
        return match
    chinese = "".join(c for c in text if "\u4e00" <= c <= "\u9fff")
    latin = re.sub(r"[\u4e00-\u9fff]", " ", text).split()
    for part in [chinese, *latin]:
        if len(part) >= 2 and (match := match_name(part)):
            return match
    return None


def _printed_name(text: str) -> str:
    """The name as printed, without a row number glued in front ("10嗜酸性粒细胞百分比")."""
    text = _clean(text)
    stripped = re.sub(r"^\d{1,2}(?=\D)", "", text)
    return stripped if len(stripped) >= 2 else text


def _take(pending: _Pending, cell: Cell) -> None:
    """Put one cell into the item it belongs to."""
    text = cell.text
    if pending.value is None:
        value, flag = parse_value(text)
        if value is not None:
            pending.value, pending.value_text, pending.printed_flag = value, _VALUE_RE.match(_numeric(text))["number"], flag
            return
    if not pending.printed_flag and (flag := parse_flag(text)):
        pending.printed_flag = flag
        return
    if not pending.unit and (unit := normalise_unit(text)):
        pending.unit = unit
        return
    if pending.range is None and (bounds := parse_range(text)):
        pending.range = bounds
        return
    # A cell holding several fields glued together ("12.3 ↑ 10^9/L"): split on spaces,
    # or between a unit and the range after it ("mmol/L2.60-7.50").
    parts = cell.text.split()
    if len(parts) == 1 and (glued := _UNIT_THEN_RANGE_RE.match(_clean(cell.text))):
        parts = [glued["unit"], glued["range"]]
    if len(parts) > 1:
        for part in parts:
            _take(pending, Cell(part, cell.x0, cell.x1, cell.confidence))


def _finish(pending: _Pending, sex: str | None, age: int | None) -> ExtractedItem | None:
    if pending.value is None and not pending.value_text:
        return None
    code = resolve_with_unit(pending.code, pending.unit)
    pending.code = code
    _undo_glued_arrow(pending)
    indicator = INDICATORS_BY_CODE[code]
    value, unit = (convert(code, pending.value, pending.unit) if pending.value is not None
                   else (None, pending.unit or indicator.unit))
    low = high = None
    source = "table"
    if pending.range is not None:
        low, high = pending.range
        if pending.unit and pending.unit != indicator.unit:
            low = convert(code, low, pending.unit)[0] if low is not None else None
            high = convert(code, high, pending.unit)[0] if high is not None else None
        source = "printed"
    else:
        table = indicator.range_for(sex, age)
        low, high = table.low, (None if table.high == float("inf") else table.high)
    flag = _judge(value, low, high) if value is not None else pending.printed_flag
    return ExtractedItem(code=code, name=pending.name, value=value, value_text=pending.value_text, unit=unit,
                         range_low=low, range_high=high, range_source=source, flag=flag,
                         confidence=round(pending.confidence, 3))


def _judge(value: float, low: float | None, high: float | None) -> str:
    if high is not None and value > high:
        return Flag.HIGH
    if low is not None and value < low:
        return Flag.LOW
    if low is None and high is None:
        return Flag.UNKNOWN
    return Flag.NORMAL


def _signature_code(pending: _Pending, taken: set[str]) -> str | None:
    """The indicator a row must be when its name is unreadable: the only one not yet
    found whose unit and fallback range match the printed unit and range (each bound
    within a tenth of the range's span). Real reports print the laboratory's own
    ranges, which sit close to the national ones; anything less clear stays unread."""
    if pending.range is None or pending.value is None or None in pending.range or not pending.unit:
        return None
    low, high = pending.range
    span = max(high - low, 1e-9)
    candidates = set()
    for indicator in INDICATORS_BY_CODE.values():
        if indicator.code in taken or indicator.unit != pending.unit:
            continue
        for reference in indicator.ranges:
            if abs(reference.low - low) <= 0.1 * span and abs(reference.high - high) <= 0.1 * span:
                candidates.add(indicator.code)
    return candidates.pop() if len(candidates) == 1 else None


def _unnamed_row(cells: list[Cell]) -> _Pending | None:
    """Read a row with no recognisable name as if its first non-index cell were one."""
    cells = [cell for cell in cells if not _INDEX_RE.match(_clean(cell.text))]
    if len(cells) < 3:
        return None
    pending = _Pending(code="", name=_clean(cells[0].text), confidence=min(c.confidence for c in cells) * 0.5)
    for cell in cells[1:]:
        _take(pending, cell)
    return pending


def extract_items(words: list[Word], *, sex: str | None = None, age: int | None = None) -> list[ExtractedItem]:
    """Every indicator found on the page, in reading order, each code once (the first
    reading wins: a repeated name further down is usually a footnote)."""
    items: list[ExtractedItem] = []
    seen: set[str] = set()
    unnamed: list[tuple[int, _Pending]] = []
    for row in group_rows(words):
        pending: _Pending | None = None
        cells = split_glued_cells(row_cells(row))
        if not any(_name_cell(cell.text) for cell in cells):
            if (guess := _unnamed_row(cells)) is not None:
                unnamed.append((len(items), guess))
            continue
        for cell in cells:
            match = _name_cell(cell.text)
            if match is not None and pending is not None and pending.value is None and match.code == pending.code:
                continue  # the code column beside the name ("白细胞计数 | WBC")
            if match is not None and (pending is None or pending.value is not None or match.distance == 0):
                if pending is not None and (item := _finish(pending, sex, age)):
                    items.append(item)
                pending = _Pending(code=match.code, name=_printed_name(cell.text), confidence=cell.confidence)
            elif pending is not None:
                pending.confidence = min(pending.confidence, cell.confidence)
                _take(pending, cell)
        if pending is not None and (item := _finish(pending, sex, age)):
            items.append(item)
    found = {item.code for item in items}
    for position, guess in reversed(unnamed):
        if code := _signature_code(guess, found):
            guess.code = code
            if item := _finish(guess, sex, age):
                items.insert(position, item)
                found.add(code)
    unique = []
    for item in items:
        if item.code not in seen:
            seen.add(item.code)
            unique.append(item)
    return unique


def row_texts(words: list[Word]) -> list[str]:
    """The page as text lines, cells separated by two spaces."""
    return ["  ".join(cell.text for cell in row_cells(row)) for row in group_rows(words)]
