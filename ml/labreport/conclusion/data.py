"""Generated reports for the conclusion model, and the text features it reads.

`generate_case(seed)` draws a plausible adult report: some panels (blood count, blood
pressure, glucose, liver, kidney, lipids), values mostly inside their reference intervals,
a per-report share pushed outside by varying amounts, and in about a third of reports a
clinical profile (iron-deficiency-like, infection-like, pancytopenia, diabetes range,
hypertension, liver injury, kidney impairment, dyslipidaemia, a critical value). Labels
come from the rule engine (engine.rule_class), so the data say nothing the rules do not.
"""

from __future__ import annotations

import numpy as np

from ml.labreport.engine import RuleResult, analyse
from ml.labreport.knowledge import CRITICAL, INDICATORS, default_range
from ml.labreport.segment import medical_tokens
from ml.labreport.types import ExtractedItem

PANELS: dict[str, tuple[str, ...]] = {
    "cbc": tuple(code for code, ind in INDICATORS.items() if ind.panel == "cbc"),
    "bp": ("SBP", "DBP"),
    "glucose": ("GLU", "HBA1C"),
    "liver": ("ALT", "AST", "TBIL"),
    "kidney": ("CREA", "UREA", "UA"),
    "lipids": ("TC", "TG", "HDL", "LDL"),
}
_PANEL_P = {"cbc": 0.75, "bp": 0.4, "glucose": 0.4, "liver": 0.35, "kidney": 0.35, "lipids": 0.35}
# (mean, sd) where the interval is one-sided or its middle is not typical
_TYPICAL = {"TC": (4.5, 0.55), "TG": (1.2, 0.35), "HDL": (1.4, 0.25), "LDL": (2.6, 0.45),
            "SBP": (118, 10), "DBP": (74, 7), "GLU": (5.0, 0.45), "HBA1C": (5.3, 0.3),
            "TBIL": (11, 4), "BASO#": (0.03, 0.015), "BASO%": (0.4, 0.2)}
_PROFILES = {
    "microcytic": {"HGB": (60, 110), "MCV": (60, 81), "MCH": (17, 26.5), "MCHC": (280, 320), "RDW": (14, 20)},
    "macrocytic": {"HGB": (65, 112), "MCV": (101, 125), "MCH": (34.5, 41)},
    "infection": {"WBC": (9.8, 26), "NEUT%": (75.5, 93), "NEUT#": (6.4, 22), "LYMPH%": (5, 19.5)},
    "viral": {"WBC": (2.4, 4.2), "LYMPH%": (50.5, 70), "NEUT%": (22, 40)},
    "pancytopenia": {"WBC": (0.7, 3.4), "HGB": (50, 108), "PLT": (8, 120), "NEUT#": (0.3, 1.7)},
    "diabetes": {"GLU": (6.0, 24.0), "HBA1C": (5.8, 12.0)},
    "hypertension": {"SBP": (128, 205), "DBP": (78, 122)},
    "liver": {"ALT": (45, 900), "AST": (38, 500), "TBIL": (15, 90)},
    "kidney": {"CREA": (90, 800), "UREA": (7, 35), "UA": (380, 650)},
    "lipids": {"TC": (5.0, 8.5), "LDL": (3.2, 6.0), "TG": (1.5, 9.0), "HDL": (0.6, 1.1)},
    "metabolic": {"GLU": (5.8, 8.5), "SBP": (125, 165), "DBP": (80, 100), "TG": (1.6, 4.0), "HDL": (0.7, 1.1)},
}
_PANEL_OF = {code: panel for panel, codes in PANELS.items() for code in codes}


def _normal_value(rng: np.random.Generator, code: str, low, high) -> float:
    if code in _TYPICAL:
        mean, sd = _TYPICAL[code]
    else:
        mean, sd = (low + high) / 2, (high - low) / 5
    return float(rng.normal(mean, sd))


def _pushed_value(rng: np.random.Generator, low, high) -> float:
    """A value outside the interval by a share of its width that is usually small."""
    width = (high - low) if (low is not None and high is not None) else (high or low or 1.0)
    distance = rng.exponential(0.3) * width + 0.01 * width
    if low is not None and low > 0 and (high is None or rng.random() < 0.45):
        return low - min(distance, 0.95 * low)
    return (high if high is not None else low) + distance


def generate_case(seed: int) -> tuple[list[ExtractedItem], str | None, int | None]:
    rng = np.random.default_rng(seed)
    sex = str(rng.choice(["M", "F"])) if rng.random() < 0.9 else None
    age = int(rng.integers(18, 90)) if rng.random() < 0.9 else None
    profile = str(rng.choice(sorted(_PROFILES) + ["critical"])) if rng.random() < 0.35 else None
    panels = {panel for panel, p in _PANEL_P.items() if rng.random() < p}
    forced: dict[str, float] = {}
    if profile == "critical":
        code = str(rng.choice(sorted(CRITICAL)))
        low, high = CRITICAL[code]
        forced[code] = low * rng.uniform(0.3, 0.95) if low is not None and (high is None or rng.random() < 0.5) \
            else high * rng.uniform(1.02, 1.6)
    elif profile:
        forced = {code: float(rng.uniform(*span)) for code, span in _PROFILES[profile].items() if rng.random() < 0.9}
    panels |= {_PANEL_OF[code] for code in forced}
    if not panels:
        panels = {"cbc"}
    out_of_range = float(rng.choice([0.0, 0.0, 0.03, 0.08, 0.15, 0.3]))
    items = []
    for panel in sorted(panels):
        for code in PANELS[panel]:
            low, high = default_range(code, sex, age)
            if code in forced:
                value = forced[code]
            elif rng.random() < out_of_range:
                value = _pushed_value(rng, low, high)
            else:
                value = _normal_value(rng, code, low, high)
            value = round(max(value, 0.0), 2)
            printed = rng.random() < 0.85
            flag = ""
            if printed:
                flag = "H" if high is not None and value > high else "L" if low is not None and value < low else "N"
            shown = None if rng.random() < 0.02 and flag in ("H", "L") else value  # a "↑" with an unreadable number
            items.append(ExtractedItem(
                code=code, name=INDICATORS[code].name_zh, value=shown, value_text="" if shown is None else f"{value:g}",
                unit=INDICATORS[code].unit, range_low=low if printed else None, range_high=high if printed else None,
                range_source="printed" if printed else "table", flag=flag, confidence=0.95,
            ))
    rng.shuffle(items)
    return items, sex, age


def profile_text(result: RuleResult) -> str:
    """The model's input: one whitespace-separated token per fact.

    CODE:DIRECTIONLEVEL for every judged item (HGB:L2, WBC:N0), CODE:critical, each
    pattern key, w:<word> for each medical-dictionary word jieba finds in the findings'
    Chinese text, and the number of abnormal items (n_abnormal:0..6)."""
    tokens = []
    for code, judged in result.judged.items():
        tokens.append(f"{code}:{judged.direction}{judged.level}")
        if judged.critical:
            tokens.append(f"{code}:critical")
    abnormal = set()
    for finding in result.findings:
        if finding.key.startswith("pattern:"):
            tokens.append(finding.key)
        else:
            abnormal.add(finding.codes[0])
        tokens += [f"w:{word}" for word in medical_tokens(finding.text_zh)]
    tokens.append(f"n_abnormal:{min(len(abnormal), 6)}")
    return " ".join(token.replace(" ", "_") for token in tokens)


def make_dataset(count: int, first_seed: int) -> tuple[list[str], np.ndarray]:
    texts, labels = [], []
    for seed in range(first_seed, first_seed + count):
        items, sex, age = generate_case(seed)
        result = analyse(items, sex=sex, age=age)
        texts.append(profile_text(result))
        labels.append(result.rule_class)
    return texts, np.asarray(labels, dtype="int32")


__all__ = ["PANELS", "generate_case", "make_dataset", "profile_text"]
