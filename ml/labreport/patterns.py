"""Patterns across items: combinations that mean more together than one by one.

Each rule reads the judged items (rules.Judged by code) and returns a Finding citing
every code it rests on, or None. Wording stays "consistent with" / "often seen with":
a pattern narrows the questions a doctor asks, it does not answer them.
"""

from __future__ import annotations

from ml.labreport.knowledge import FOLLOW_UP, MINOR, SOON
from ml.labreport.rules import Finding, Judged, format_number

Items = dict[str, Judged]


def _is(j: Items, code: str, direction: str) -> bool:
    return code in j and j[code].direction == direction


def _value(j: Items, code: str) -> float | None:
    return j[code].value if code in j else None


def _level(j: Items, codes: list[str], floor: int = MINOR) -> int:
    return max([floor] + [j[c].level for c in codes if c in j])


def microcytic(j: Items, sex, age):
    if not (_is(j, "HGB", "L") and _is(j, "MCV", "L") and _is(j, "MCH", "L")):
        return None
    codes = ["HGB", "MCV", "MCH"] + [c for c in ("MCHC",) if _is(j, c, "L")]
    rdw_zh = rdw_en = ""
    if _is(j, "RDW", "H"):
        codes.append("RDW")
        rdw_zh, rdw_en = "红细胞分布宽度升高更常见于缺铁。", " A raised RDW is more typical of iron deficiency."
    return Finding(
        "pattern:microcytic_anaemia", codes, _level(j, codes, FOLLOW_UP),
        "血红蛋白、平均红细胞体积和平均红细胞血红蛋白含量均偏低，符合小细胞低色素性贫血的表现，"
        f"最常见的原因是缺铁，也可能是地中海贫血携带。{rdw_zh}",
        "Low haemoglobin with low MCV and MCH is a pattern consistent with microcytic anaemia, most often "
        f"from iron deficiency, sometimes thalassaemia trait.{rdw_en}",
        "建议就医检查铁蛋白等铁代谢指标，查明原因（如月经量多或消化道慢性失血）；不要未经医生评估长期自行补铁。",
        "See a doctor for iron studies (ferritin) and the cause (such as heavy periods or slow bleeding in the gut); "
        "do not take iron long-term without a doctor's advice.",
        {"cbc"},
    )


def macrocytic(j: Items, sex, age):
    if not (_is(j, "HGB", "L") and _is(j, "MCV", "H")):
        return None
    codes = ["HGB", "MCV"] + [c for c in ("MCH",) if _is(j, c, "H")]
    return Finding(
        "pattern:macrocytic_anaemia", codes, _level(j, codes, FOLLOW_UP),
        "血红蛋白偏低而平均红细胞体积偏高，符合大细胞性贫血的表现，可见于维生素B12或叶酸缺乏、饮酒、肝病、甲状腺功能减退或某些药物。",
        "Low haemoglobin with a high MCV is a pattern consistent with macrocytic anaemia, seen with vitamin B12 or "
        "folate deficiency, alcohol, liver disease, an underactive thyroid or some medicines.",
        "建议就医检查维生素B12和叶酸水平。", "See a doctor to have vitamin B12 and folate measured.", {"cbc"},
    )


def normocytic(j: Items, sex, age):
    if not (_is(j, "HGB", "L") and _is(j, "MCV", "N")):
        return None
    codes = ["HGB", "MCV"]
    kidney_zh = kidney_en = ""
    if _is(j, "CREA", "H"):
        codes.append("CREA")
        kidney_zh, kidney_en = "肌酐同时升高，肾功能下降也可引起贫血。", " Creatinine is raised too; reduced kidney function can cause anaemia."
    return Finding(
        "pattern:normocytic_anaemia", codes, _level(j, codes, FOLLOW_UP),
        f"血红蛋白偏低而红细胞体积正常，符合正细胞性贫血，可见于失血、慢性疾病、肾脏疾病或骨髓问题。{kidney_zh}",
        "Low haemoglobin with a normal MCV is consistent with normocytic anaemia, seen with blood loss, chronic "
        f"illness, kidney disease or a bone-marrow problem.{kidney_en}",
        "建议就医查明贫血原因。", "See a doctor to find the cause of the anaemia.", {"cbc"} | ({"kidney"} if kidney_zh else set()),
    )


def pancytopenia(j: Items, sex, age):
    if not (_is(j, "WBC", "L") and _is(j, "HGB", "L") and _is(j, "PLT", "L")):
        return None
    codes = ["WBC", "HGB", "PLT"]
    return Finding(
        "pattern:pancytopenia", codes, _level(j, codes, SOON),
        "白细胞、血红蛋白和血小板三项同时减少（三系减少），原因可能在骨髓、药物、感染或脾脏，需要尽快由医生评估。",
        "White cells, haemoglobin and platelets are all low (pancytopenia); the cause may lie in the bone marrow, "
        "medicines, an infection or the spleen, and needs a doctor's prompt assessment.",
        "请尽快到血液科就诊。", "See a haematologist soon.", {"cbc"},
    )


def bacterial(j: Items, sex, age):
    neut = [c for c in ("NEUT%", "NEUT#") if _is(j, c, "H")]
    if not (_is(j, "WBC", "H") and neut):
        return None
    codes = ["WBC"] + neut
    return Finding(
        "pattern:neutrophilia", codes, _level(j, codes),
        "白细胞和中性粒细胞同时升高，这种组合常见于细菌感染或炎症，也可见于应激、剧烈运动或使用激素。",
        "A raised white cell count with raised neutrophils is a pattern often seen with a bacterial infection or "
        "inflammation; stress, hard exercise or steroids can also cause it.",
        "如有发热、咳嗽、咽痛、尿痛等症状请就医；无症状者可1–2周后复查血常规。",
        "See a doctor if you have a fever, cough, sore throat or pain passing urine; without symptoms, repeat the "
        "blood count in 1–2 weeks.", {"cbc"},
    )


def viral(j: Items, sex, age):
    lymph = [c for c in ("LYMPH%", "LYMPH#") if _is(j, c, "H")]
    low = [c for c in ("NEUT%", "NEUT#", "WBC") if _is(j, c, "L")]
    if not (lymph and low) or _is(j, "WBC", "H"):
        return None
    codes = lymph + low
    return Finding(
        "pattern:lymphocytosis", codes, _level(j, codes),
        "淋巴细胞相对增多而中性粒细胞或白细胞偏少，这种组合常见于病毒感染。",
        "More lymphocytes with fewer neutrophils or white cells is a pattern often seen with a viral infection.",
        "多数会自行恢复；如症状持续或加重请就医，2–4周后复查血常规。",
        "It usually settles on its own; see a doctor if symptoms persist or worsen, and repeat the blood count in "
        "2–4 weeks.", {"cbc"},
    )


def neutropenia(j: Items, sex, age):
    value = _value(j, "NEUT#")
    if value is None or value >= 1.0:
        return None
    return Finding(
        "pattern:neutropenia", ["NEUT#"], _level(j, ["NEUT#"], SOON),
        f"中性粒细胞绝对值{format_number(value)}×10^9/L，低于1.0，抵抗细菌感染的能力下降。",
        f"The neutrophil count of {format_number(value)}×10^9/L is below 1.0, which lowers resistance to bacterial infection.",
        "如出现发热（≥38℃），请立即就医。", "If you develop a fever (38 °C or more), seek medical care at once.", {"cbc"},
    )


def bleeding_risk(j: Items, sex, age):
    value = _value(j, "PLT")
    if value is None or value >= 50:
        return None
    return Finding(
        "pattern:bleeding_risk", ["PLT"], _level(j, ["PLT"], SOON),
        f"血小板{format_number(value)}×10^9/L，低于50，出血风险增加（也需排除采血凝集造成的假性减少）。",
        f"A platelet count of {format_number(value)}×10^9/L is below 50, which raises the bleeding risk (a false low from "
        "clumping in the sample should be ruled out).",
        "避免剧烈运动和碰撞；如出现皮肤出血点、牙龈或鼻出血、黑便，请立即就医。",
        "Avoid contact sports and knocks; seek care at once for skin spots, gum or nose bleeds, or black stools.",
        {"cbc"},
    )


def haemoconcentration(j: Items, sex, age):
    if not (_is(j, "HGB", "H") and _is(j, "HCT", "H")):
        return None
    codes = ["HGB", "HCT"] + [c for c in ("RBC",) if _is(j, c, "H")]
    return Finding(
        "pattern:high_red_cells", codes, _level(j, codes),
        "血红蛋白和红细胞压积同时升高，可能提示血液浓缩（如脱水），也可见于吸烟、高原居住，少数为红细胞增多症。",
        "Raised haemoglobin and haematocrit may suggest concentrated blood (as with dehydration); smoking and "
        "altitude raise them too, and rarely polycythaemia.",
        "补足水分后复查；如持续升高请就医。", "Repeat the test when well hydrated; see a doctor if it stays high.", {"cbc"},
    )


def small_cells_without_anaemia(j: Items, sex, age):
    if not (_is(j, "MCV", "L") and _is(j, "HGB", "N")):
        return None
    codes = ["MCV", "HGB"]
    mentzer_zh = mentzer_en = ""
    rbc, mcv = _value(j, "RBC"), _value(j, "MCV")
    if rbc and mcv and "RBC" in j:
        codes.append("RBC")
        index = mcv / rbc
        if index < 13:
            mentzer_zh = f"MCV/RBC比值为{index:.1f}（<13），更倾向于地中海贫血携带。"
            mentzer_en = f" The MCV/RBC ratio (Mentzer index) is {index:.1f} (<13), which leans towards thalassaemia trait."
    return Finding(
        "pattern:microcytosis", codes, _level(j, codes, FOLLOW_UP),
        f"红细胞体积偏小但血红蛋白正常，可能提示地中海贫血携带或早期缺铁。{mentzer_zh}",
        f"Small red cells with normal haemoglobin may suggest thalassaemia trait or early iron deficiency.{mentzer_en}",
        "建议就医，必要时检查铁代谢和血红蛋白电泳；计划生育时尤其值得了解。",
        "See a doctor; iron studies and haemoglobin electrophoresis may be needed, which matter especially when "
        "planning a family.", {"cbc"},
    )
