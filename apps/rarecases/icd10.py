"""ICD-10 chapters: the category a rare case belongs to.

The ranges are compared on the code's first three characters (letter and two digits),
which sort as strings the way ICD-10 orders them, so the same table serves Python and
the rarity analysis's SQL (a VALUES list joined on BETWEEN)."""

import re

CHAPTERS: tuple[tuple[str, str, str, str], ...] = (
    # (first, last, Chinese name, English name)
    ("A00", "B99", "某些传染病和寄生虫病", "Certain infectious and parasitic diseases"),
    ("C00", "D48", "肿瘤", "Neoplasms"),
    ("D50", "D89", "血液及造血器官疾病和某些免疫疾患", "Diseases of the blood and immune mechanism"),
    ("E00", "E90", "内分泌、营养和代谢疾病", "Endocrine, nutritional and metabolic diseases"),
    ("F00", "F99", "精神和行为障碍", "Mental and behavioural disorders"),
    ("G00", "G99", "神经系统疾病", "Diseases of the nervous system"),
    ("H00", "H59", "眼和附器疾病", "Diseases of the eye and adnexa"),
    ("H60", "H95", "耳和乳突疾病", "Diseases of the ear and mastoid process"),
    ("I00", "I99", "循环系统疾病", "Diseases of the circulatory system"),
    ("J00", "J99", "呼吸系统疾病", "Diseases of the respiratory system"),
    ("K00", "K93", "消化系统疾病", "Diseases of the digestive system"),
    ("L00", "L99", "皮肤和皮下组织疾病", "Diseases of the skin and subcutaneous tissue"),
    ("M00", "M99", "肌肉骨骼系统和结缔组织疾病", "Diseases of the musculoskeletal system and connective tissue"),
    ("N00", "N99", "泌尿生殖系统疾病", "Diseases of the genitourinary system"),
    ("O00", "O99", "妊娠、分娩和产褥期", "Pregnancy, childbirth and the puerperium"),
    ("P00", "P96", "起源于围生期的某些情况", "Certain conditions originating in the perinatal period"),
    ("Q00", "Q99", "先天性畸形、变形和染色体异常", "Congenital malformations and chromosomal abnormalities"),
    ("R00", "R99", "症状、体征和临床与实验室异常所见", "Symptoms, signs and abnormal findings"),
    ("S00", "T98", "损伤、中毒和外因的某些其他后果", "Injury, poisoning and other consequences of external causes"),
    ("U00", "U99", "用于特殊目的的编码", "Codes for special purposes"),
    ("V01", "Y98", "疾病和死亡的外因", "External causes of morbidity and mortality"),
    ("Z00", "Z99", "影响健康状态和与保健机构接触的因素", "Factors influencing health status"),
)

CODE_PATTERN = re.compile(r"^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$")


def normalise_code(code: str) -> str:
    """Upper case, no spaces, a dot after the category (E703 -> E70.3)."""
    code = re.sub(r"\s+", "", str(code or "")).upper()
    if len(code) > 3 and "." not in code:
        code = f"{code[:3]}.{code[3:]}"
    return code


def is_code(code: str) -> bool:
    return bool(CODE_PATTERN.match(code))


def chapter_label(first: str, last: str, name_zh: str) -> str:
    return f"{first}-{last} {name_zh}"


def category_of(code: str) -> str:
    """The chapter a code falls in ("E00-E90 内分泌、营养和代谢疾病"), or "" for no code."""
    head = normalise_code(code)[:3]
    for first, last, name_zh, _name_en in CHAPTERS:
        if first <= head <= last:
            return chapter_label(first, last, name_zh)
    return ""


def category_choices() -> list[str]:
    return [chapter_label(first, last, name_zh) for first, last, name_zh, _en in CHAPTERS]
