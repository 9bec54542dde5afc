"""What each indicator is and what a high or low value may suggest, in Chinese and English.

Written for this project from public clinical references (listed in docs/labreport.md,
section "Interpretation"): WS/T 405-2012 (blood count intervals), WS/T 404 (liver and
kidney intervals), the Chinese guidelines for hypertension (2018), type 2 diabetes
(2020), dyslipidaemia (2016/2023) and hyperuricaemia (2019), and common Chinese
laboratory critical-value lists. The wording is deliberately conservative: "may suggest",
"is often seen with", never a diagnosis. Nothing here is a substitute for a doctor.
"""

from __future__ import annotations

from dataclasses import dataclass

from ml.labreport.cbc_items import CBC_ITEMS_BY_CODE
from ml.labreport.indicators import INDICATORS_BY_CODE


@dataclass(frozen=True)
class Indicator:
    code: str
    name_zh: str
    name_en: str
    unit: str
    # default reference interval when the report prints none: (low, high); None = no limit
    low: float | None
    high: float | None
    high_zh: str = ""  # what a high value may suggest
    high_en: str = ""
    low_zh: str = ""
    low_en: str = ""
    # the highest level (see LEVELS) a plain deviation of this item reaches on its own;
    # derived or minor indices (PDW, MPV, RDW) never drive a referral by themselves
    cap: int = 3
    panel: str = "cbc"


# 0 normal, 1 minor deviation, 2 needs follow-up, 3 see a doctor soon, 4 urgent
LEVELS = ("normal", "minor", "follow_up", "soon", "urgent")
NORMAL, MINOR, FOLLOW_UP, SOON, URGENT = range(5)


def _cbc(code, name_en, high_zh, high_en, low_zh, low_en, cap=3) -> Indicator:
    item = CBC_ITEMS_BY_CODE[code]
    return Indicator(code, item.name, name_en, item.unit, item.range_low, item.range_high,
                     high_zh, high_en, low_zh, low_en, cap, "cbc")


INDICATORS: dict[str, Indicator] = {i.code: i for i in (
    _cbc("WBC", "White blood cell count",
         "感染（多为细菌感染）、炎症、应激、吸烟或某些药物（如激素）", "infection (often bacterial), inflammation, stress, smoking or some medicines (such as steroids)",
         "病毒感染、某些药物影响、骨髓造血减少或自身免疫性疾病", "a viral infection, the effect of some medicines, reduced bone-marrow production or an autoimmune condition"),
    _cbc("NEUT#", "Neutrophil count",
         "细菌感染、炎症、应激或使用激素", "a bacterial infection, inflammation, stress or steroid use",
         "病毒感染后、药物（如化疗药）影响或骨髓问题；明显减少时抵抗感染的能力下降", "recovery from a viral infection, medicines (such as chemotherapy) or a bone-marrow problem; when very low, resistance to infection falls"),
    _cbc("LYMPH#", "Lymphocyte count",
         "病毒感染（如感冒、传染性单核细胞增多症）或慢性炎症", "a viral infection (such as a cold or glandular fever) or chronic inflammation",
         "急性应激、使用激素、某些感染或免疫功能低下", "acute stress, steroid use, some infections or reduced immunity", cap=2),
    _cbc("MONO#", "Monocyte count",
         "感染恢复期或慢性感染、炎症", "recovery from an infection, or a chronic infection or inflammation",
         "通常意义不大，可见于使用激素", "usually of little significance; can be seen with steroid use", cap=2),
    _cbc("EO#", "Eosinophil count",
         "过敏（如哮喘、湿疹）、寄生虫感染或某些药物反应", "allergy (such as asthma or eczema), a parasitic infection or a reaction to a medicine",
         "通常意义不大，可见于应激或使用激素", "usually of little significance; can be seen with stress or steroid use", cap=2),
    _cbc("BASO#", "Basophil count",
         "过敏反应或慢性炎症，少数情况下与血液系统疾病有关", "an allergic reaction or chronic inflammation, rarely a blood disorder",
         "通常意义不大", "usually of little significance", cap=2),
    _cbc("NEUT%", "Neutrophil percentage",
         "细菌感染或炎症（需结合白细胞总数看）", "a bacterial infection or inflammation (read together with the white cell count)",
         "病毒感染或粒细胞减少（需结合绝对值看）", "a viral infection or fewer neutrophils (read together with the absolute count)", cap=2),
    _cbc("LYMPH%", "Lymphocyte percentage",
         "病毒感染（需结合绝对值看）", "a viral infection (read together with the absolute count)",
         "中性粒细胞相对增多时常见，如细菌感染或应激", "common when neutrophils rise, as with a bacterial infection or stress", cap=2),
    _cbc("MONO%", "Monocyte percentage",
         "感染恢复期或慢性炎症", "recovery from an infection or chronic inflammation",
         "通常意义不大", "usually of little significance", cap=1),
    _cbc("EO%", "Eosinophil percentage",
         "过敏或寄生虫感染", "allergy or a parasitic infection",
         "通常意义不大", "usually of little significance", cap=2),
    _cbc("BASO%", "Basophil percentage",
         "过敏反应或慢性炎症", "an allergic reaction or chronic inflammation",
         "通常意义不大", "usually of little significance", cap=1),
    _cbc("RBC", "Red blood cell count",
         "脱水、吸烟、高原居住，少数为红细胞增多症；地中海贫血携带者也可红细胞偏多而体积偏小", "dehydration, smoking, living at altitude, rarely polycythaemia; thalassaemia carriers can also have many small red cells",
         "贫血（需结合血红蛋白看）", "anaemia (read together with haemoglobin)", cap=2),
    _cbc("HGB", "Haemoglobin",
         "脱水、吸烟、高原居住，少数为红细胞增多症", "dehydration, smoking, living at altitude, rarely polycythaemia",
         "贫血，常见原因有缺铁、失血、慢性疾病或维生素缺乏", "anaemia; common causes are iron deficiency, blood loss, a chronic illness or a vitamin deficiency"),
    _cbc("HCT", "Haematocrit",
         "脱水或红细胞增多", "dehydration or more red cells",
         "贫血或血液稀释", "anaemia or diluted blood", cap=2),
    _cbc("MCV", "Mean corpuscular volume",
         "红细胞偏大，可见于维生素B12或叶酸缺乏、饮酒、肝病或某些药物", "large red cells, seen with vitamin B12 or folate deficiency, alcohol, liver disease or some medicines",
         "红细胞偏小，常见于缺铁或地中海贫血携带", "small red cells, commonly from iron deficiency or thalassaemia trait", cap=2),
    _cbc("MCH", "Mean corpuscular haemoglobin",
         "红细胞偏大（见MCV）", "large red cells (see MCV)",
         "红细胞内血红蛋白偏少，常见于缺铁或地中海贫血携带", "less haemoglobin per red cell, commonly from iron deficiency or thalassaemia trait", cap=2),
    _cbc("MCHC", "Mean corpuscular haemoglobin concentration",
         "少见，可见于球形红细胞增多或样本因素（如脂血、溶血）", "uncommon; seen with spherocytosis or sample effects (lipaemia, haemolysis)",
         "低色素，常见于缺铁", "pale (hypochromic) red cells, commonly from iron deficiency", cap=2),
    _cbc("RDW", "Red cell distribution width",
         "红细胞大小不均，常见于缺铁早期或混合性贫血", "uneven red-cell sizes, common in early iron deficiency or mixed anaemia",
         "通常无临床意义", "usually of no clinical significance", cap=1),
    _cbc("PLT", "Platelet count",
         "炎症、缺铁、出血后或脾切除后的反应性增多，少数为骨髓疾病", "a reaction to inflammation, iron deficiency, bleeding or spleen removal, rarely a bone-marrow disorder",
         "病毒感染、药物、免疫性血小板减少、肝病或骨髓问题，也可能是采血凝集造成的假性减少；明显减少时有出血风险", "a viral infection, medicines, immune thrombocytopenia, liver disease or a bone-marrow problem, or clumping in the sample (a false low); when very low, a bleeding risk"),
    _cbc("PCT", "Plateletcrit",
         "通常随血小板数增多", "usually rises with the platelet count",
         "通常随血小板数减少", "usually falls with the platelet count", cap=1),
    _cbc("PDW", "Platelet distribution width",
         "血小板大小不均，单独异常意义有限", "uneven platelet sizes; of limited meaning on its own",
         "单独异常意义有限", "of limited meaning on its own", cap=1),
    _cbc("MPV", "Mean platelet volume",
         "血小板偏大，可见于血小板消耗增多时骨髓代偿", "large platelets, seen when the marrow compensates for platelet consumption",
         "血小板偏小，单独异常意义有限", "small platelets; of limited meaning on its own", cap=1),
    Indicator("SBP", "收缩压", "Systolic blood pressure", "mmHg", 90, 139,
              "血压升高", "raised blood pressure", "血压偏低", "low blood pressure", 4, "bp"),
    Indicator("DBP", "舒张压", "Diastolic blood pressure", "mmHg", 60, 89,
              "血压升高", "raised blood pressure", "血压偏低", "low blood pressure", 4, "bp"),
    Indicator("GLU", "空腹血糖", "Fasting glucose", "mmol/L", 3.9, 6.1,
              "血糖调节受损或糖尿病（需复查确认）", "impaired glucose regulation or diabetes (needs confirming)",
              "低血糖，可见于未进食过久、降糖药物或其他原因", "low blood sugar, from a long fast, glucose-lowering medicines or other causes", 4, "glucose"),
    Indicator("HBA1C", "糖化血红蛋白", "HbA1c", "%", 4.0, 6.0,
              "近2–3个月平均血糖偏高", "a raised average blood sugar over the past 2–3 months",
              "可见于贫血、溶血或近期失血（此时该值可能偏低而不可靠）", "anaemia, haemolysis or recent blood loss (which make the value unreliably low)", 3, "glucose"),
    Indicator("ALT", "丙氨酸氨基转移酶", "Alanine aminotransferase", "U/L", 9, 50,
              "肝细胞损伤，常见原因有脂肪肝、饮酒、药物、病毒性肝炎", "liver-cell injury; common causes are fatty liver, alcohol, medicines and viral hepatitis",
              "通常无临床意义", "usually of no clinical significance", 4, "liver"),
    Indicator("AST", "天门冬氨酸氨基转移酶", "Aspartate aminotransferase", "U/L", 15, 40,
              "肝细胞损伤，也可来自肌肉（剧烈运动后）或心脏", "liver-cell injury; it also comes from muscle (after hard exercise) or the heart",
              "通常无临床意义", "usually of no clinical significance", 4, "liver"),
    Indicator("TBIL", "总胆红素", "Total bilirubin", "µmol/L", 3.4, 20.5,
              "肝脏或胆道问题、溶血，轻度升高也常见于吉尔伯特综合征（良性）", "a liver or bile-duct problem or haemolysis; a mild rise is also common with Gilbert's syndrome (harmless)",
              "通常无临床意义", "usually of no clinical significance", 3, "liver"),
    Indicator("CREA", "肌酐", "Creatinine", "µmol/L", 57, 97,
              "肾功能下降，也受脱水、肌肉量大、高蛋白饮食影响", "reduced kidney function; also affected by dehydration, high muscle mass or a high-protein meal",
              "肌肉量少，通常无临床意义", "low muscle mass; usually of no clinical significance", 4, "kidney"),
    Indicator("UREA", "尿素", "Urea", "mmol/L", 3.1, 8.0,
              "肾功能下降、脱水、高蛋白饮食或消化道出血", "reduced kidney function, dehydration, a high-protein diet or bleeding in the gut",
              "低蛋白饮食或肝功能下降", "a low-protein diet or reduced liver function", 3, "kidney"),
    Indicator("UA", "尿酸", "Uric acid", "µmol/L", 208, 428,
              "高尿酸血症，与痛风、肾结石有关，受饮食、饮酒、药物影响", "high uric acid, linked to gout and kidney stones and affected by diet, alcohol and medicines",
              "通常无临床意义", "usually of no clinical significance", 2, "kidney"),
    Indicator("TC", "总胆固醇", "Total cholesterol", "mmol/L", None, 5.2,
              "血脂异常，增加动脉粥样硬化性心血管病风险", "dyslipidaemia, which raises the risk of atherosclerotic cardiovascular disease",
              "可见于营养不良、甲亢或肝病", "poor nutrition, an overactive thyroid or liver disease", 2, "lipids"),
    Indicator("TG", "甘油三酯", "Triglycerides", "mmol/L", None, 1.7,
              "血脂异常，常与饮食、饮酒、肥胖、血糖高有关；非空腹采血也会偏高", "dyslipidaemia, often linked to diet, alcohol, overweight or high blood sugar; a non-fasting sample also reads high",
              "通常无临床意义", "usually of no clinical significance", 3, "lipids"),
    Indicator("HDL", "高密度脂蛋白胆固醇", "HDL cholesterol", "mmol/L", 1.0, None,
              "通常无不良意义", "usually nothing adverse",
              "“好胆固醇”偏低，心血管病风险增加，常与缺乏运动、吸烟、肥胖有关", "low 'good' cholesterol, a higher cardiovascular risk, often linked to inactivity, smoking or overweight", 2, "lipids"),
    Indicator("LDL", "低密度脂蛋白胆固醇", "LDL cholesterol", "mmol/L", None, 3.4,
              "“坏胆固醇”偏高，动脉粥样硬化性心血管病风险增加", "high 'bad' cholesterol, a higher risk of atherosclerotic cardiovascular disease",
              "通常无不良意义", "usually nothing adverse", 2, "lipids"),
)}

# Commonly listed laboratory critical values (危急值): (low, high); a value beyond either
# makes the report urgent whatever any model says.
CRITICAL: dict[str, tuple[float | None, float | None]] = {
    "WBC": (1.0, 30.0),
    "NEUT#": (0.5, None),
    "HGB": (60.0, 200.0),
    "PLT": (20.0, 1000.0),
    "GLU": (2.8, 22.2),
    "CREA": (None, 707.0),
}
# Grade 3 hypertension (>= 180 / >= 110 mmHg) is urgent too; rules.py grades blood pressure.

KNOWN_CODES: frozenset[str] = frozenset(INDICATORS)


def normal_unit(unit: str) -> str:
    """Compare units loosely: '×10^9/L', '10^9/L' and '10*9/L' are the same."""
    unit = unit.replace("×", "").replace("*", "^").replace(" ", "").replace("μ", "µ").lower()
    return unit.replace("umol", "µmol")


def default_range(code: str, sex: str | None, age: int | None) -> tuple[float | None, float | None]:
    """The fallback interval, from the one reference table (ml/labreport/indicators.py)."""
    reference = INDICATORS_BY_CODE[code].range_for(sex, age)
    return reference.low, (None if reference.high == float("inf") else reference.high)
