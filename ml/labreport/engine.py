"""Run the rules over a report: items -> judged items -> findings -> the rule conclusion class."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ml.labreport import patterns as cbc
from ml.labreport import patterns_chemistry as chem
from ml.labreport.knowledge import FOLLOW_UP, INDICATORS, KNOWN_CODES, MINOR, NORMAL, SOON
from ml.labreport.rules import Finding, Judged, item_finding, judge
from ml.labreport.segment import code_for_name
from ml.labreport.types import ExtractedItem

RULES_VERSION = "1"
PATTERNS = (
    cbc.pancytopenia, cbc.microcytic, cbc.macrocytic, cbc.normocytic, cbc.small_cells_without_anaemia,
    cbc.bacterial, cbc.viral, cbc.neutropenia, cbc.bleeding_risk, cbc.haemoconcentration,
    chem.blood_pressure, chem.diabetes_thresholds, chem.glucose_follow_up, chem.low_glucose, chem.liver_injury,
    chem.kidney, chem.urea_and_creatinine, chem.dyslipidaemia, chem.metabolic_features,
)
# blood pressure is one statement for the pair (patterns_chemistry.blood_pressure)
_NO_ITEM_STATEMENT = {"SBP", "DBP"}
_ORDER = {code: index for index, code in enumerate(INDICATORS)}


@dataclass
class RuleResult:
    judged: dict[str, Judged]
    findings: list[Finding]  # most important first
    rule_class: int  # knowledge.LEVELS index


def normalise_sex(sex: str | None) -> str | None:
    value = (sex or "").strip().lower()
    if value in ("m", "male", "man", "男"):
        return "M"
    if value in ("f", "female", "woman", "女"):
        return "F"
    return None


def known_items(items: list[ExtractedItem]) -> list[ExtractedItem]:
    """Items with a code we know; an unknown code gets a second chance from its printed
    name (jieba + the medical dictionary); the rest are ignored. First of a code wins."""
    kept: dict[str, ExtractedItem] = {}
    for item in items:
        code = item.code if item.code in KNOWN_CODES else code_for_name(item.name or "")
        if code in KNOWN_CODES and code not in kept:
            kept[code] = item if code == item.code else replace(item, code=code)
    return list(kept.values())


def rule_class(findings: list[Finding]) -> int:
    if not findings:
        return NORMAL
    level = max(f.level for f in findings)
    item_codes = {f.codes[0] for f in findings if f.key.startswith("item:") and f.level >= MINOR}
    if level == MINOR and len(item_codes) >= 4:
        return FOLLOW_UP  # many small deviations together are worth a conversation
    serious = [f for f in findings if f.level >= FOLLOW_UP]
    if level == FOLLOW_UP and len(serious) >= 3 and len(set().union(*(f.panels for f in serious))) >= 2:
        return SOON  # follow-up findings in several organ systems at once
    return level


def drivers(result: RuleResult, conclusion_class: int) -> list[str]:
    """The codes a conclusion of this class rests on: every judged code for 'normal', else
    the codes of the findings at or above the level that produced the class."""
    if conclusion_class == NORMAL or not result.findings:
        return sorted(result.judged, key=_ORDER.get)
    threshold = min(conclusion_class, max(f.level for f in result.findings))
    codes: list[str] = []
    for finding in result.findings:
        if finding.level >= threshold:
            codes += [c for c in finding.codes if c not in codes]
    return codes


def analyse(items: list[ExtractedItem], *, sex: str | None, age: int | None) -> RuleResult:
    sex = normalise_sex(sex)
    judged = {item.code: judge(item, sex=sex, age=age) for item in known_items(items)}
    findings = [f for pattern in PATTERNS if (f := pattern(judged, sex, age)) is not None]
    findings += [item_finding(j) for j in judged.values()
                 if j.level > NORMAL and j.direction in ("H", "L") and j.code not in _NO_ITEM_STATEMENT]
    findings.sort(key=lambda f: (-f.level, not f.key.startswith("pattern:"), _ORDER.get(f.codes[0], 99)))
    return RuleResult(judged, findings, rule_class(findings))
