"""Interpretation: extracted items -> a structured, bilingual, cited Interpretation.

    interpret(items, *, sex="F", age=54) -> Interpretation

1. engine.analyse: each item judged against its printed range (or the sex- and age-aware
   default), graded 0-4 by guideline thresholds or distance from the range, critical values
   made urgent; patterns across items; one Finding per item or pattern, each citing its codes.
2. The conclusion model (ml/labreport/conclusion, a small Keras text classifier over the
   profile and the jieba tokens of the findings) predicts the overall conclusion class.
3. The rules stay authoritative for urgency: the final class is never below the rules' class
   when that is "soon" or "urgent", never "normal" when something is abnormal, and at most
   one step above the rules'. Urgency follows the final class.

Command line: python -m ml.labreport.interpret --json items.json [--sex F] [--age 54]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ml.labreport.engine import RULES_VERSION, RuleResult, analyse, drivers
from ml.labreport.knowledge import FOLLOW_UP, INDICATORS, MINOR, NORMAL, SOON, URGENT
from ml.labreport.types import ExtractedItem, Interpretation, Statement

_CONCLUSION = {
    NORMAL: ("所列{n}项指标均在参考范围内，未见需要特别处理的异常。",
             "All {n} listed indicators are within their reference ranges; nothing needs particular attention."),
    MINOR: ("有轻度偏离参考范围的指标（{codes}），多数情况下临床意义不大，可在下次体检时复查。",
            "Some indicators deviate slightly from their reference ranges ({codes}); this usually has little "
            "clinical significance, and they can be rechecked at the next check-up."),
    FOLLOW_UP: ("有需要随访的异常指标（{codes}），建议在几周内就诊或复查。",
                "Some abnormal results need follow-up ({codes}); see a doctor or repeat the tests within a few weeks."),
    SOON: ("有较明显的异常（{codes}），建议近日（一周内）就医。",
           "There are marked abnormalities ({codes}); see a doctor in the next few days (within a week)."),
    URGENT: ("有达到危急值或需紧急处理的结果（{codes}），请立即（今天）就医或前往急诊。",
             "Some results are at critical levels or need urgent attention ({codes}); seek medical care today or go "
             "to the emergency department."),
}
_WHEN = {
    NORMAL: ("请按常规体检安排复查。", "Keep to your usual check-up schedule."),
    MINOR: ("无不适时可在下次体检时复查；如有不适请就医。", "Without symptoms, recheck at your next check-up; see a doctor if you feel unwell."),
    FOLLOW_UP: ("请在2–4周内到门诊就诊，并带上本报告。", "See a doctor within 2–4 weeks and bring this report."),
    SOON: ("请在一周内就医。", "See a doctor within a week."),
    URGENT: ("请立即就医（急诊），不要等待。", "Seek medical care now (emergency department); do not wait."),
}
_DISCLAIMER = ("本解读由程序根据化验数值自动生成，仅供参考，不是诊断；以医生审核意见为准。",
               "This interpretation is generated automatically from the values; it is not a diagnosis, and the "
               "reviewing doctor's opinion prevails.")
_EMPTY = ("未识别到可解读的指标，请核对化验单照片是否清晰完整。",
          "No indicator could be interpreted; check that the photo of the report is sharp and complete.")
URGENCY = {NORMAL: "routine", MINOR: "routine", FOLLOW_UP: "routine", SOON: "soon", URGENT: "urgent"}


def combine(rule_class: int, model_class: int | None, has_findings: bool) -> int:
    """The model may move the conclusion within the routine classes and at most one step
    above the rules; it may never lower a 'soon' or 'urgent' the rules set."""
    if model_class is None:
        return rule_class
    final = min(model_class, rule_class + 1)
    if rule_class >= SOON:
        final = max(final, rule_class)
    if has_findings:
        final = max(final, MINOR)
    return final


def _conclusion(result: RuleResult, final: int) -> Statement:
    codes = drivers(result, final)
    zh, en = _CONCLUSION[final]
    listed = "、".join(codes)
    return Statement(zh.format(n=len(codes), codes=listed), en.format(n=len(codes), codes=", ".join(codes)), codes)


def _advice(result: RuleResult, final: int, conclusion_codes: list[str]) -> list[Statement]:
    advice = [Statement(*_WHEN[final], codes=conclusion_codes)]
    seen = set()
    for finding in result.findings:
        if finding.advice_zh and finding.advice_zh not in seen:
            seen.add(finding.advice_zh)
            advice.append(Statement(finding.advice_zh, finding.advice_en, list(finding.codes)))
    all_codes = [code for code in INDICATORS if code in result.judged]
    advice.append(Statement(*_DISCLAIMER, codes=all_codes))
    return advice


def interpret(items: list[ExtractedItem], *, sex: str | None, age: int | None, use_model: bool = True) -> Interpretation:
    result = analyse(items, sex=sex, age=age)
    version = f"rules-{RULES_VERSION}"
    if not result.judged:
        return Interpretation([], Statement(*_EMPTY, codes=[]), [], "routine", version)
    model_class = None
    if use_model:
        from ml.labreport.conclusion import serving

        prediction = serving.predict_one(result, sex=sex, age=age)
        if prediction is not None:
            model_class, model_version = prediction
            version = f"{version}+{model_version}"
    final = combine(result.rule_class, model_class, bool(result.findings))
    conclusion = _conclusion(result, final)
    abnormal = [Statement(f.text_zh, f.text_en, list(f.codes)) for f in result.findings]
    return Interpretation(abnormal, conclusion, _advice(result, final, conclusion.codes), URGENCY[final], version)


def _number(value) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def _item_from_json(data: dict) -> ExtractedItem:
    value = _number(data.get("value"))
    return ExtractedItem(
        code=str(data.get("code") or ""), name=str(data.get("name") or ""),
        value=value,
        value_text=str(data.get("value_text") if data.get("value_text") is not None else ("" if value is None else value)),
        unit=str(data.get("unit") or ""),
        range_low=_number(data.get("range_low")), range_high=_number(data.get("range_high")),
        range_source=str(data.get("range_source") or "printed"), flag=str(data.get("flag") or ""),
        confidence=float(data.get("confidence") or 1.0),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.labreport.interpret", description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, type=Path,
                        help="a JSON list of items, or an object with 'items' (and optionally 'sex', 'age')")
    parser.add_argument("--sex", choices=["M", "F"])
    parser.add_argument("--age", type=int)
    parser.add_argument("--rules-only", action="store_true", help="skip the conclusion model")
    args = parser.parse_args(argv)
    try:
        data = json.loads(args.json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"cannot read {args.json}: {error}", file=sys.stderr)
        return 2
    rows = data.get("items", []) if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        print("expected a list of item objects", file=sys.stderr)
        return 2
    sex = args.sex or (data.get("sex") if isinstance(data, dict) else None)
    age = args.age if args.age is not None else _number(data.get("age") if isinstance(data, dict) else None)
    age = int(age) if age is not None else None
    interpretation = interpret([_item_from_json(row) for row in rows], sex=sex, age=age, use_model=not args.rules_only)
    print(json.dumps(interpretation.as_dict(), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
