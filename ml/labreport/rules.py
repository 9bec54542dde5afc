"""The rule engine: judge each item, grade it, and say what it may suggest.

Levels (knowledge.LEVELS): 0 normal, 1 minor deviation, 2 needs follow-up, 3 see a doctor
soon, 4 urgent. An item's level comes from a guideline threshold where one exists (blood
pressure grades, glucose and HbA1c cut-offs, transaminases in multiples of the upper
limit, lipid cut-offs, eGFR categories), else from its distance outside the reference
interval, capped per item; a critical value is always level 4. The rules are authoritative
for urgency: nothing downstream may lower a level they set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ml.labreport.knowledge import (
    CRITICAL, FOLLOW_UP, INDICATORS, MINOR, NORMAL, SOON, URGENT, default_range, normal_unit,
)
from ml.labreport.types import ExtractedItem, Flag


@dataclass
class Judged:
    """One indicator after judging it against its range and the guideline thresholds."""

    code: str
    value: float | None
    value_text: str
    unit: str
    low: float | None
    high: float | None
    direction: str  # "H", "L" or "N"
    level: int
    critical: bool = False
    note_zh: str = ""  # the threshold it reached, e.g. "达到2级高血压水平"
    note_en: str = ""


@dataclass
class Finding:
    """One statement about one item or a pattern across items, with what to do."""

    key: str  # "item:HGB:L", "pattern:microcytic", ...
    codes: list[str]
    level: int
    text_zh: str
    text_en: str
    advice_zh: str = ""
    advice_en: str = ""
    panels: set[str] = field(default_factory=set)


def format_number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{format_number(low)}–{format_number(high)}"
    if high is not None:
        return f"<{format_number(high)}"
    if low is not None:
        return f">{format_number(low)}"
    return "?"


def _units_match(code: str, unit: str) -> bool:
    """Thresholds are in the standard unit; an unexpected unit means we trust only the flag."""
    return not unit or normal_unit(unit) == normal_unit(INDICATORS[code].unit)


def _deviation_level(value: float, low: float | None, high: float | None, cap: int) -> tuple[str, int]:
    """Grade a plain deviation by its distance outside the interval, as a share of the
    interval's width (or of the limit itself for one-sided intervals)."""
    width = (high - low) if (low is not None and high is not None and high > low) else None
    if high is not None and value > high:
        distance, direction = (value - high) / (width or high or 1.0), "H"
    elif low is not None and value < low:
        distance, direction = (low - value) / (width or low or 1.0), "L"
    else:
        return "N", NORMAL
    level = MINOR if distance < 0.2 else FOLLOW_UP if distance < 0.6 else SOON
    return direction, min(level, cap)


def _band(value: float, bands: list[tuple[float, int, str, str]]) -> tuple[int, str, str]:
    """bands: ascending (lower bound, level, note_zh, note_en); the last bound <= value wins."""
    chosen = (NORMAL, "", "")
    for bound, level, zh, en in bands:
        if value >= bound:
            chosen = (level, zh, en)
    return chosen


def _threshold(code: str, value: float, low: float | None, high: float | None, age: int | None):
    """Guideline thresholds for the codes that have them: (direction, level, note_zh, note_en),
    or None to fall back to the plain deviation."""
    if code == "SBP":
        if value < 90:
            return "L", SOON if value < 80 else FOLLOW_UP, "低于90 mmHg", "below 90 mmHg"
        level, zh, en = _band(value, [(120, MINOR, "处于正常高值（120–139）", "in the high-normal band (120–139)"),
                                      (140, FOLLOW_UP, "达到1级高血压水平（≥140）", "at the grade 1 hypertension level (≥140)"),
                                      (160, SOON, "达到2级高血压水平（≥160）", "at the grade 2 hypertension level (≥160)"),
                                      (180, URGENT, "达到3级高血压水平（≥180）", "at the grade 3 hypertension level (≥180)")])
        return ("H" if level else "N"), level, zh, en
    if code == "DBP":
        if value < 60:
            return "L", FOLLOW_UP, "低于60 mmHg", "below 60 mmHg"
        level, zh, en = _band(value, [(80, MINOR, "处于正常高值（80–89）", "in the high-normal band (80–89)"),
                                      (90, FOLLOW_UP, "达到1级高血压水平（≥90）", "at the grade 1 hypertension level (≥90)"),
                                      (100, SOON, "达到2级高血压水平（≥100）", "at the grade 2 hypertension level (≥100)"),
                                      (110, URGENT, "达到3级高血压水平（≥110）", "at the grade 3 hypertension level (≥110)")])
        return ("H" if level else "N"), level, zh, en
    if code == "GLU":
        if value < 3.9:
            level = URGENT if value < 2.8 else SOON if value < 3.0 else FOLLOW_UP
            return "L", level, "低于3.9 mmol/L（低血糖范围）", "below 3.9 mmol/L (the low blood sugar range)"
        level, zh, en = _band(value, [(6.1, FOLLOW_UP, "处于空腹血糖受损范围（6.1–6.9）", "in the impaired fasting glucose range (6.1–6.9)"),
                                      (7.0, SOON, "达到糖尿病诊断所用的空腹阈值（≥7.0），需医生复查确认", "at or above the fasting threshold used to diagnose diabetes (≥7.0); a doctor must confirm it")])
        return ("H" if level else "N"), level, zh, en
    if code == "HBA1C":
        if value < 4.0:
            return "L", MINOR, "", ""
        level, zh, en = _band(value, [(6.0, FOLLOW_UP, "高于参考范围但低于6.5%", "above the range but below 6.5%"),
                                      (6.5, SOON, "达到糖尿病诊断所用的阈值（≥6.5%），需医生确认", "at or above the threshold used to diagnose diabetes (≥6.5%); a doctor must confirm it")])
        return ("H" if level else "N"), level, zh, en
    if code in ("ALT", "AST") and high:
        ratio = value / high
        if ratio <= 1:
            return "N", NORMAL, "", ""
        level, zh, en = _band(ratio, [(0, MINOR, "不到正常上限的2倍", "under twice the upper limit"),
                                      (2, FOLLOW_UP, "为正常上限的2–5倍", "2–5 times the upper limit"),
                                      (5, SOON, "为正常上限的5–15倍", "5–15 times the upper limit"),
                                      (15, URGENT, "超过正常上限的15倍", "more than 15 times the upper limit")])
        return ("H" if level else "N"), level, zh, en
    if code == "UA" and high and value > high:
        if value > 420:
            return "H", FOLLOW_UP, "超过420 µmol/L（高尿酸血症的界值）", "above 420 µmol/L (the hyperuricaemia threshold)"
        return "H", MINOR, "", ""
    if code == "TC":
        level, zh, en = _band(value, [(5.2, MINOR, "处于边缘升高（5.2–6.1）", "borderline high (5.2–6.1)"),
                                      (6.2, FOLLOW_UP, "升高（≥6.2）", "high (≥6.2)")])
        return ("H" if level else "N"), level, zh, en
    if code == "LDL":
        level, zh, en = _band(value, [(3.4, MINOR, "处于边缘升高（3.4–4.0）", "borderline high (3.4–4.0)"),
                                      (4.1, FOLLOW_UP, "升高（≥4.1）", "high (≥4.1)"),
                                      (4.9, FOLLOW_UP, "明显升高（≥4.9），需考虑家族性高胆固醇血症的可能", "markedly high (≥4.9); familial hypercholesterolaemia should be considered")])
        return ("H" if level else "N"), level, zh, en
    if code == "TG":
        level, zh, en = _band(value, [(1.7, MINOR, "处于边缘升高（1.7–2.2）", "borderline high (1.7–2.2)"),
                                      (2.3, FOLLOW_UP, "升高（≥2.3）", "high (≥2.3)"),
                                      (5.6, SOON, "严重升高（≥5.6），急性胰腺炎风险增加", "severely high (≥5.6), with a higher risk of acute pancreatitis")])
        return ("H" if level else "N"), level, zh, en
    if code == "HDL":
        if value < 1.0:
            return "L", MINOR, "低于1.0 mmol/L", "below 1.0 mmol/L"
        return "N", NORMAL, "", ""
    if code == "CREA" and high and value > high:
        ratio = value / high
        level = MINOR if ratio < 1.3 else FOLLOW_UP if ratio < 2 else SOON
        return "H", level, "", ""
    if code == "TBIL" and high and value > high:
        ratio = value / high
        level = MINOR if ratio < 1.5 else FOLLOW_UP if ratio < 3 else SOON
        return "H", level, "", ""
    return None


def _critical(code: str, value: float) -> tuple[bool, str, str]:
    low, high = CRITICAL.get(code, (None, None))
    unit = INDICATORS[code].unit
    if low is not None and value < low:
        return True, f"，低于危急值{format_number(low)} {unit}", f", below the critical value of {format_number(low)} {unit}"
    if high is not None and value > high:
        return True, f"，达到危急值（>{format_number(high)} {unit}）", f", a critical value (above {format_number(high)} {unit})"
    return False, "", ""


def judge(item: ExtractedItem, *, sex: str | None, age: int | None) -> Judged:
    """Judge one item whose code is known. The printed range wins over the default table."""
    code = item.code
    indicator = INDICATORS[code]
    low, high = item.range_low, item.range_high
    if low is None and high is None:
        low, high = default_range(code, sex, age)
    elif low is not None and high is not None and low > high:
        low, high = high, low  # printed the wrong way round (or read so)
    value = item.value if item.value is not None and math.isfinite(item.value) else None
    judged = Judged(code, value, item.value_text, item.unit or indicator.unit, low, high, "N", NORMAL)
    if value is None or not _units_match(code, item.unit):
        # nothing to measure: the printed flag is all we have
        if item.flag in (Flag.HIGH, Flag.LOW):
            judged.direction, judged.level = item.flag, min(FOLLOW_UP, indicator.cap)
        return judged
    graded = _threshold(code, value, low, high, age)
    if graded is None:
        judged.direction, judged.level = _deviation_level(value, low, high, indicator.cap)
    else:
        judged.direction, judged.level, judged.note_zh, judged.note_en = graded
    if judged.level == NORMAL and item.flag in (Flag.HIGH, Flag.LOW):
        # the laboratory flagged it against its own interval: mention it, gently
        judged.direction, judged.level = item.flag, MINOR
    critical, zh, en = _critical(code, value)
    judged.critical = judged.level == URGENT  # grade 3 blood pressure, transaminases > 15x
    if critical:
        judged.critical, judged.level = True, URGENT
        judged.direction = "L" if (CRITICAL[code][0] is not None and value < CRITICAL[code][0]) else "H"
        judged.note_zh, judged.note_en = (judged.note_zh + zh).lstrip("，"), (judged.note_en + en).lstrip(", ")
    return judged


def item_finding(judged: Judged) -> Finding:
    indicator = INDICATORS[judged.code]
    high = judged.direction == "H"
    meaning_zh = indicator.high_zh if high else indicator.low_zh
    meaning_en = indicator.high_en if high else indicator.low_en
    name_zh, name_en, code = indicator.name_zh, indicator.name_en, judged.code
    rng = range_text(judged.low, judged.high)
    if judged.value is None:
        shown_zh = f"结果“{judged.value_text}”被标记为{'偏高' if high else '偏低'}"
        shown_en = f"result '{judged.value_text}' is flagged {'high' if high else 'low'}"
    else:
        shown_zh = f"{format_number(judged.value)} {judged.unit}，{'高于' if high else '低于'}参考范围（{rng}）"
        shown_en = f"{format_number(judged.value)} {judged.unit} is {'above' if high else 'below'} the reference range ({rng})"
    note_zh = f"，{judged.note_zh}" if judged.note_zh else ""
    note_en = f", {judged.note_en}" if judged.note_en else ""
    return Finding(
        key=f"item:{code}:{judged.direction}", codes=[code], level=judged.level,
        text_zh=f"{name_zh}（{code}）{shown_zh}{note_zh}。可能提示：{meaning_zh}。",
        text_en=f"{name_en} ({code}) {shown_en}{note_en}. It may suggest {meaning_en}.",
        panels={indicator.panel},
    )
