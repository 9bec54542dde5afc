"""Interpretation: rules, patterns, critical values, citations, the conclusion model, the CLI."""

import json
import re
import subprocess
import sys

import pytest

from ml.labreport.conclusion.data import generate_case, make_dataset
from ml.labreport.conclusion.serving import load
from ml.labreport.engine import analyse
from ml.labreport.interpret import combine, interpret, main
from ml.labreport.knowledge import FOLLOW_UP, INDICATORS, MINOR, NORMAL, SOON, URGENT, default_range
from ml.labreport.patterns_chemistry import egfr_ckd_epi_2021
from ml.labreport.segment import code_for_name
from ml.labreport.types import ExtractedItem

CJK = re.compile(r"[\u4e00-\u9fff]")


def item(code, value, *, name=None, unit=None, printed=True, flag=None, sex="F", age=45):
    low, high = default_range(code, sex, age) if code in INDICATORS else (None, None)
    if flag is None:
        flag = "" if not printed or value is None else "H" if high is not None and value > high else "L" if low is not None and value < low else "N"
    return ExtractedItem(
        code=code, name=name or (INDICATORS[code].name_zh if code in INDICATORS else code), value=value,
        value_text="" if value is None else f"{value:g}", unit=INDICATORS[code].unit if unit is None and code in INDICATORS else (unit or ""),
        range_low=low if printed else None, range_high=high if printed else None,
        range_source="printed" if printed else "table", flag=flag, confidence=0.9,
    )


def normal_cbc():
    middle = {code: (ind.low + ind.high) / 2 for code, ind in INDICATORS.items() if ind.panel == "cbc"}
    middle["HGB"], middle["RBC"], middle["HCT"] = 132, 4.5, 40  # inside the female intervals
    return [item(code, round(value, 2)) for code, value in middle.items()]


def with_values(items, **values):
    codes = {code.replace("_pct", "%").replace("_abs", "#"): value for code, value in values.items()}
    return [item(i.code, codes[i.code]) if i.code in codes else i for i in items] + [
        item(code, value) for code, value in codes.items() if code not in {i.code for i in items}
    ]


def keys(items, sex="F", age=45):
    return {finding.key: finding for finding in analyse(items, sex=sex, age=age).findings}


def all_statements(interpretation):
    return [*interpretation.abnormal, interpretation.conclusion, *interpretation.advice]


def test_a_normal_report_concludes_normal_citing_every_indicator():
    # given a blood count with every value in the middle of its interval
    items = normal_cbc()
    # when it is interpreted
    result = interpret(items, sex="F", age=45)
    # then nothing is abnormal, the conclusion is routine and rests on all 22 codes
    assert result.abnormal == []
    assert result.urgency == "routine"
    assert sorted(result.conclusion.codes) == sorted(i.code for i in items)
    assert result.model_version.startswith("rules-1+labreport-conclusion-")


def test_empty_items_give_an_empty_routine_interpretation():
    result = interpret([], sex=None, age=None)
    assert result.abnormal == [] and result.advice == []
    assert result.conclusion.codes == [] and result.conclusion.text_zh and result.conclusion.text_en
    assert result.urgency == "routine"


def test_unknown_codes_are_ignored():
    # given a normal blood count plus an item no dictionary knows and a code we do not interpret
    items = normal_cbc() + [item("FOO", 999.0, name="某某某"), item("K", 2.1, name="钾", unit="mmol/L")]
    # when interpreted
    result = interpret(items, sex="F", age=45)
    # then neither shows up anywhere and the report stays normal
    cited = {code for statement in all_statements(result) for code in statement.codes}
    assert "FOO" not in cited and "K" not in cited
    assert result.abnormal == []


def test_a_printed_name_maps_to_a_code_when_extraction_gave_none():
    # given an item whose code is missing but whose printed name jieba can read
    unnamed = item("HGB", 52.0)
    unnamed.code, unnamed.name = "", "血红蛋白(HGB)"
    # when interpreted
    result = interpret([unnamed], sex="M", age=40)
    # then it is judged as HGB, a critical value
    assert result.urgency == "urgent"
    assert "HGB" in result.conclusion.codes


@pytest.mark.parametrize("name, code", [
    ("中性粒细胞计数", "NEUT#"), ("淋巴细胞%", "LYMPH%"), ("平均红细胞血红蛋白浓度", "MCHC"), ("NEUT#", "NEUT#"),
    ("谷丙转氨酶", "ALT"), ("*HGB", "HGB"), ("嗜酸性粒细胞", None), ("备注", None),
])
def test_the_medical_dictionary_maps_printed_names(name, code):
    assert code_for_name(name) == code


@pytest.mark.parametrize("values, key, codes, level", [
    ({"HGB": 95, "MCV": 70, "MCH": 22, "RDW": 16.5}, "pattern:microcytic_anaemia", {"HGB", "MCV", "MCH", "RDW"}, FOLLOW_UP),
    ({"HGB": 95, "MCV": 108, "MCH": 36}, "pattern:macrocytic_anaemia", {"HGB", "MCV", "MCH"}, FOLLOW_UP),
    ({"HGB": 100}, "pattern:normocytic_anaemia", {"HGB", "MCV"}, FOLLOW_UP),
    ({"WBC": 14, "NEUT_pct": 85}, "pattern:neutrophilia", {"WBC", "NEUT%"}, FOLLOW_UP),
    ({"WBC": 3.2, "LYMPH_pct": 58, "NEUT_pct": 35}, "pattern:lymphocytosis", {"LYMPH%", "NEUT%", "WBC"}, MINOR),
    ({"WBC": 2.0, "HGB": 90, "PLT": 60}, "pattern:pancytopenia", {"WBC", "HGB", "PLT"}, SOON),
    ({"NEUT_abs": 0.8}, "pattern:neutropenia", {"NEUT#"}, SOON),
    ({"PLT": 35}, "pattern:bleeding_risk", {"PLT"}, SOON),
    ({"HGB": 165, "HCT": 49}, "pattern:high_red_cells", {"HGB", "HCT"}, MINOR),
    ({"MCV": 72, "RBC": 5.05}, "pattern:microcytosis", {"MCV", "HGB", "RBC"}, FOLLOW_UP),
])
def test_blood_count_patterns_cite_the_items_they_rest_on(values, key, codes, level):
    # given a normal blood count with some values moved
    items = with_values(normal_cbc(), **values)
    # when analysed
    findings = keys(items)
    # then the pattern is found, cites exactly its items and is graded at least as expected
    assert key in findings
    assert set(findings[key].codes) == codes
    assert findings[key].level >= level


@pytest.mark.parametrize("values, sex, age, key, codes, level", [
    ({"SBP": 145, "DBP": 85}, "M", 50, "pattern:blood_pressure", {"SBP", "DBP"}, FOLLOW_UP),
    ({"SBP": 165, "DBP": 95}, "M", 50, "pattern:blood_pressure", {"SBP", "DBP"}, SOON),
    ({"SBP": 150, "DBP": 112}, "M", 50, "pattern:blood_pressure", {"SBP", "DBP"}, URGENT),
    ({"GLU": 7.4, "HBA1C": 6.9}, "F", 60, "pattern:diabetes_range", {"GLU", "HBA1C"}, SOON),
    ({"GLU": 6.5}, "F", 60, "pattern:glucose_recheck", {"GLU"}, FOLLOW_UP),
    ({"GLU": 3.2}, "F", 60, "pattern:low_glucose", {"GLU"}, FOLLOW_UP),
    ({"ALT": 180, "AST": 90, "TBIL": 45}, "M", 40, "pattern:liver", {"ALT", "AST", "TBIL"}, SOON),
    ({"ALT": 60, "AST": 150}, "M", 40, "pattern:liver", {"ALT", "AST"}, FOLLOW_UP),
    ({"CREA": 200, "UREA": 12}, "F", 70, "pattern:kidney", {"CREA", "UREA"}, SOON),
    ({"CREA": 200, "UREA": 12}, "F", 70, "pattern:azotaemia", {"CREA", "UREA"}, SOON),
    ({"CREA": 120, "UREA": 9.5}, "M", 45, "pattern:azotaemia", {"CREA", "UREA"}, FOLLOW_UP),
    ({"TC": 6.5, "LDL": 4.3, "HDL": 0.9}, "M", 55, "pattern:dyslipidaemia", {"TC", "LDL", "HDL"}, FOLLOW_UP),
    ({"GLU": 6.3, "TG": 2.0, "HDL": 0.95, "SBP": 135, "DBP": 80}, "M", 55, "pattern:metabolic", {"GLU", "TG", "HDL", "SBP"}, FOLLOW_UP),
])
def test_chemistry_patterns_follow_the_guideline_thresholds(values, sex, age, key, codes, level):
    items = [item(code, value, sex=sex, age=age) for code, value in values.items()]
    findings = keys(items, sex=sex, age=age)
    assert key in findings, list(findings)
    assert set(findings[key].codes) == codes
    assert findings[key].level == level


def test_egfr_needs_sex_and_age_and_matches_the_ckd_epi_2021_equation():
    # published CKD-EPI 2021 values: creatinine 1.0 mg/dL (88.4 µmol/L)
    assert 91 <= egfr_ckd_epi_2021(88.4, "M", 50) <= 92
    assert 64 <= egfr_ckd_epi_2021(88.4, "F", 60) <= 65
    assert "pattern:kidney" not in keys([item("CREA", 200)], sex=None, age=70)


@pytest.mark.parametrize("code, value, expected", [
    ("ALT", 80, MINOR), ("ALT", 150, FOLLOW_UP), ("ALT", 300, SOON), ("ALT", 800, URGENT),
    ("WBC", 10.0, MINOR), ("WBC", 12.5, FOLLOW_UP), ("WBC", 15.0, SOON), ("PDW", 25.0, MINOR),
])
def test_severity_grows_with_the_distance_from_the_range(code, value, expected):
    result = analyse([item(code, value, sex="M", age=40)], sex="M", age=40)
    assert result.judged[code].level == expected


@pytest.mark.parametrize("code, value", [
    ("HGB", 55.0), ("PLT", 15.0), ("WBC", 0.8), ("GLU", 25.0), ("GLU", 2.5), ("SBP", 185.0), ("NEUT#", 0.3), ("CREA", 800.0),
])
def test_a_critical_value_makes_the_report_urgent_whatever_the_model_says(code, value):
    # given an otherwise unremarkable report with one critical value
    items = [item(code, value)] + ([item("DBP", 80.0)] if code == "SBP" else normal_cbc() if INDICATORS[code].panel == "cbc" else [])
    items = list({i.code: i for i in reversed(items)}.values())
    # when interpreted with the model
    result = interpret(items, sex="F", age=45)
    # then the rules' urgency stands and the conclusion cites the critical code
    assert result.urgency == "urgent"
    assert code in result.conclusion.codes
    assert code in result.abnormal[0].codes


def test_combining_never_lowers_soon_or_urgent_and_moves_at_most_one_step_up():
    assert combine(URGENT, NORMAL, True) == URGENT
    assert combine(SOON, MINOR, True) == SOON
    assert combine(FOLLOW_UP, NORMAL, True) == MINOR  # a model may soften routine advice, not to "normal"
    assert combine(MINOR, URGENT, True) == FOLLOW_UP
    assert combine(NORMAL, NORMAL, False) == NORMAL
    assert combine(SOON, None, True) == SOON


def test_an_unexpected_unit_falls_back_to_the_printed_flag():
    # given glucose in mg/dL (126 mg/dL = 7.0 mmol/L), flagged high by the laboratory
    result = analyse([item("GLU", 126.0, unit="mg/dL", flag="H")], sex="M", age=50)
    # then the mmol/L thresholds are not applied: no critical value, a follow-up level from the flag
    assert result.judged["GLU"].level == FOLLOW_UP and not result.judged["GLU"].critical


def test_every_statement_cites_known_codes_and_speaks_both_languages():
    # given 150 generated reports of every kind
    for seed in range(2_000_000, 2_000_150):
        items, sex, age = generate_case(seed)
        # when interpreted
        result = interpret(items, sex=sex, age=age)
        present = {i.code for i in items}
        # then no statement lacks codes, cites a code not on the report, or lacks a language
        for statement in all_statements(result):
            assert statement.codes, statement
            assert set(statement.codes) <= present
            assert CJK.search(statement.text_zh), statement.text_zh
            assert re.search(r"[A-Za-z]{3}", statement.text_en) and not CJK.search(statement.text_en), statement.text_en
        assert result.urgency in ("routine", "soon", "urgent")


def test_the_model_loads_once_and_agrees_with_the_rules_on_held_out_reports():
    # given the shipped model and 400 generated reports it never saw in training
    model = load()
    assert load() is model
    texts, rule_classes = make_dataset(400, 3_000_000)
    # when it predicts their conclusion class
    predicted = model.predict(texts)
    # then it agrees with the rules (measured 0.992 on 3,000 held-out reports; see the model card)
    agreement = float((predicted == rule_classes).mean())
    assert agreement >= 0.97, agreement
    assert model.card["metrics_held_out"]["accuracy"] >= 0.97
    # and after the rules' floor nothing the rules call soon or urgent is lowered
    final = [combine(int(r), int(p), bool(r)) for r, p in zip(rule_classes, predicted)]
    assert all(f >= r for f, r in zip(final, rule_classes) if r >= SOON)


def test_the_cli_prints_the_interpretation_as_json(tmp_path, capsys):
    # given a JSON file of items as the extraction prints them
    path = tmp_path / "items.json"
    rows = [i.as_dict() for i in with_values(normal_cbc(), HGB=58)]
    path.write_text(json.dumps({"items": rows, "sex": "F", "age": 30}), encoding="utf-8")
    # when the command runs
    assert main(["--json", str(path)]) == 0
    # then it prints the interpretation
    printed = json.loads(capsys.readouterr().out)
    assert printed["urgency"] == "urgent" and "HGB" in printed["conclusion"]["codes"]


def test_the_cli_rejects_a_file_that_is_not_a_list_of_items(tmp_path, capsys):
    path = tmp_path / "items.json"
    path.write_text('{"items": [1, 2]}', encoding="utf-8")
    assert main(["--json", str(path)]) == 2
    assert main(["--json", str(tmp_path / "missing.json")]) == 2


def test_importing_the_interpreter_does_not_import_tensorflow():
    code = "import sys, ml.labreport.interpret; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"


def test_odd_values_and_ranges_are_judged_safely():
    # given a non-numeric result, a range printed the wrong way round and a flag-only blood pressure
    nan_item = item("WBC", float("nan"), flag="")
    swapped = item("HGB", 100.0)
    swapped.range_low, swapped.range_high = 150.0, 115.0
    flagged_bp = item("SBP", None, flag="H")
    flagged_bp.value_text = "↑"
    # when analysed
    result = analyse([nan_item, swapped, flagged_bp], sex="F", age=45)
    # then the unreadable value is not judged, the range is righted, and the flagged pressure is reported
    assert result.judged["WBC"].value is None and result.judged["WBC"].level == NORMAL
    assert result.judged["HGB"].direction == "L"
    assert {"SBP"} in [set(f.codes) for f in result.findings]
