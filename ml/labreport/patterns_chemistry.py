"""Patterns for blood pressure, glucose, liver, kidney and lipids (see patterns.py)."""

from __future__ import annotations

from ml.labreport.knowledge import FOLLOW_UP, MINOR, NORMAL, SOON, URGENT
from ml.labreport.patterns import Items, _is, _level, _value
from ml.labreport.rules import Finding, format_number


def blood_pressure(j: Items, sex, age):
    """One statement for the pair (rules.py grades each number; the higher grade counts)."""
    codes = [c for c in ("SBP", "DBP") if c in j and (j[c].value is not None or j[c].level)]
    if not codes or _level(j, codes, NORMAL) == NORMAL:
        return None
    level = _level(j, codes)
    reading = "/".join(format_number(j[c].value) or j[c].value_text or "?" for c in codes)
    notes_zh = "；".join(f"{'收缩压' if c == 'SBP' else '舒张压'}{j[c].note_zh}" for c in codes if j[c].note_zh)
    notes_en = "; ".join(f"{'systolic' if c == 'SBP' else 'diastolic'} {j[c].note_en}" for c in codes if j[c].note_en)
    isolated_zh = isolated_en = ""
    if (_value(j, "SBP") or 0) >= 140 and _value(j, "DBP") is not None and j["DBP"].value < 90:
        isolated_zh, isolated_en = "属于单纯收缩期血压升高。", " This is isolated systolic hypertension."
    low = any(j[c].direction == "L" for c in codes)
    if low:
        meaning_zh, meaning_en = "血压偏低，可见于脱水、药物作用或体质因素。", " Low blood pressure may come from dehydration, medicines or constitution."
        advice = ("如有头晕、乏力、晕厥，请就医。", "See a doctor if you feel dizzy, weak or faint.")
    elif level >= URGENT:
        meaning_zh, meaning_en = "", ""
        advice = ("请休息后立即复测；如仍≥180/110 mmHg，或伴胸痛、剧烈头痛、气短、视物模糊、肢体无力或言语不清，请立即就医（急诊）。",
                  "Rest and measure again now; if it is still 180/110 mmHg or more, or with chest pain, severe headache, "
                  "breathlessness, blurred vision, weakness or slurred speech, seek emergency care at once.")
    elif level == MINOR:
        meaning_zh, meaning_en = "正常高值不是高血压，但今后发生高血压的风险较高。", " High-normal is not hypertension, but the risk of developing it later is higher."
        advice = ("注意减盐、控制体重、规律运动，并定期测量血压。",
                  "Eat less salt, manage weight, exercise regularly and check your blood pressure from time to time.")
    else:
        meaning_zh, meaning_en = "单次测量不能诊断高血压，需非同日多次测量确认。", " One reading cannot diagnose hypertension; it needs confirming on different days."
        advice = ("建议非同日多次测量或做家庭血压监测，并就医评估。",
                  "Measure again on different days or at home, and see a doctor for an assessment.")
    return Finding(
        "pattern:blood_pressure", codes, level,
        f"血压{reading} mmHg" + (f"，{notes_zh}" if notes_zh else "") + f"。{isolated_zh}{meaning_zh}",
        f"Blood pressure {reading} mmHg" + (f": {notes_en}" if notes_en else "") + f".{isolated_en}{meaning_en}",
        advice[0], advice[1], {"bp"},
    )


def diabetes_thresholds(j: Items, sex, age):
    glu, a1c = _value(j, "GLU"), _value(j, "HBA1C")
    if glu is None or a1c is None or glu < 7.0 or a1c < 6.5:
        return None
    codes = ["GLU", "HBA1C"]
    return Finding(
        "pattern:diabetes_range", codes, _level(j, codes, SOON),
        "空腹血糖（≥7.0 mmol/L）和糖化血红蛋白（≥6.5%）均达到《中国2型糖尿病防治指南》用于诊断糖尿病的阈值，结果与糖尿病相符，需由医生确认。",
        "Fasting glucose (≥7.0 mmol/L) and HbA1c (≥6.5%) both reach the thresholds the Chinese type 2 diabetes "
        "guideline uses to diagnose diabetes; the results are consistent with diabetes, which a doctor must confirm.",
        "请尽快到内分泌科就诊。", "See an endocrinologist soon.", {"glucose"},
    )


def glucose_follow_up(j: Items, sex, age):
    glu = _value(j, "GLU")
    if glu is None or glu < 6.1 or diabetes_thresholds(j, sex, age):
        return None
    return Finding(
        "pattern:glucose_recheck", ["GLU"], _level(j, ["GLU"]),
        "单次空腹血糖升高需要复查确认（确认采血前已空腹至少8小时）。",
        "A single raised fasting glucose needs repeating (make sure you fasted for at least 8 hours).",
        "建议改日复查空腹血糖，并请医生考虑做糖化血红蛋白或口服葡萄糖耐量试验。",
        "Repeat the fasting glucose on another day and ask a doctor about HbA1c or a glucose tolerance test.",
        {"glucose"},
    )


def low_glucose(j: Items, sex, age):
    if not _is(j, "GLU", "L"):
        return None
    return Finding(
        "pattern:low_glucose", ["GLU"], _level(j, ["GLU"], FOLLOW_UP),
        "血糖低于3.9 mmol/L，处于低血糖范围。", "Glucose below 3.9 mmol/L is in the low blood sugar range.",
        "如有心慌、出汗、手抖、意识模糊，请立即进食含糖食物并就医；使用降糖药者请尽快联系医生。",
        "With palpitations, sweating, shaking or confusion, take something sugary at once and seek care; if you "
        "take glucose-lowering medicine, contact your doctor soon.", {"glucose"},
    )


def liver_injury(j: Items, sex, age):
    raised = [c for c in ("ALT", "AST") if _is(j, c, "H")]
    if not raised:
        return None
    codes, extra_zh, extra_en, floor = list(raised), "", "", MINOR
    alt, ast = _value(j, "ALT"), _value(j, "AST")
    if len(raised) == 2 and alt and ast and ast / alt > 2:
        extra_zh += f"AST/ALT比值为{ast / alt:.1f}（>2），这种模式有时见于酒精相关肝损伤，也可来自肌肉损伤。"
        extra_en += f" The AST/ALT ratio is {ast / alt:.1f} (>2), a pattern sometimes seen with alcohol-related liver injury or muscle injury."
        floor = FOLLOW_UP
    if _is(j, "TBIL", "H"):
        codes.append("TBIL")
        extra_zh += "胆红素同时升高，提示肝脏受累可能较明显。"
        extra_en += " Bilirubin is raised too, which suggests the liver may be more affected."
        floor = SOON
    return Finding(
        "pattern:liver", codes, _level(j, codes, floor),
        f"转氨酶升高提示肝细胞可能受损，常见原因有脂肪肝、饮酒、药物和病毒性肝炎。{extra_zh}",
        "Raised transaminases suggest the liver cells may be injured; common causes are fatty liver, alcohol, "
        f"medicines and viral hepatitis.{extra_en}",
        "避免饮酒和不必要的药物或保健品，2–4周后复查肝功能，并请医生查明原因（如乙肝、脂肪肝）。",
        "Avoid alcohol and unnecessary medicines or supplements, repeat the liver tests in 2–4 weeks, and ask a "
        "doctor to find the cause (such as hepatitis B or fatty liver).", {"liver"},
    )


def egfr_ckd_epi_2021(creatinine_umol: float, sex: str, age: int) -> float:
    """CKD-EPI 2021 (race-free) eGFR in mL/min/1.73 m² from serum creatinine."""
    scr = creatinine_umol / 88.4  # mg/dL
    kappa, alpha = (0.7, -0.241) if sex == "F" else (0.9, -0.302)
    egfr = 142 * min(scr / kappa, 1) ** alpha * max(scr / kappa, 1) ** -1.200 * 0.9938**age
    return egfr * 1.012 if sex == "F" else egfr


def kidney(j: Items, sex, age):
    crea = _value(j, "CREA")
    if crea is None or crea <= 0 or sex not in ("M", "F") or age is None or age < 18:
        return None
    egfr = egfr_ckd_epi_2021(crea, sex, age)
    if egfr >= 60:
        return None
    level = FOLLOW_UP if egfr >= 30 else SOON
    codes = ["CREA"] + [c for c in ("UREA",) if _is(j, c, "H")]
    stage = "G3a" if egfr >= 45 else "G3b" if egfr >= 30 else "G4" if egfr >= 15 else "G5"
    return Finding(
        "pattern:kidney", codes, _level(j, codes, level),
        f"按肌酐、性别和年龄用CKD-EPI 2021公式估算的肾小球滤过率（eGFR）约为{egfr:.0f} mL/min/1.73m²（{stage}范围），"
        "可能提示肾功能下降；需间隔3个月以上复查才能判断是否为慢性肾脏病，脱水等也会使其暂时偏低。",
        f"The estimated glomerular filtration rate from creatinine, sex and age (CKD-EPI 2021) is about {egfr:.0f} "
        f"mL/min/1.73m² (the {stage} range), which may suggest reduced kidney function; only a repeat over 3 "
        "months or more can tell whether it is chronic, and dehydration can lower it for a while.",
        "请就医评估肾功能（尿常规、尿白蛋白），并请医生核对所用药物的剂量。",
        "See a doctor to assess kidney function (urine tests, urine albumin) and to review medicine doses.",
        {"kidney"},
    )


def urea_and_creatinine(j: Items, sex, age):
    if not (_is(j, "CREA", "H") and _is(j, "UREA", "H")):
        return None
    codes = ["CREA", "UREA"]
    return Finding(
        "pattern:azotaemia", codes, _level(j, codes, FOLLOW_UP),
        "肌酐和尿素同时升高，可能提示肾功能下降，也可能与脱水或高蛋白饮食有关。",
        "Creatinine and urea are both raised, which may suggest reduced kidney function; dehydration or a "
        "high-protein diet can also cause it.",
        "补足水分后复查肾功能，并请医生评估。", "Repeat the kidney tests when well hydrated and see a doctor.", {"kidney"},
    )


def dyslipidaemia(j: Items, sex, age):
    codes = [c for c in ("TC", "TG", "LDL") if _is(j, c, "H")] + [c for c in ("HDL",) if _is(j, c, "L")]
    if len(codes) < 2:
        return None
    return Finding(
        "pattern:dyslipidaemia", codes, _level(j, codes, FOLLOW_UP),
        "多项血脂指标异常，符合血脂异常的表现，会增加动脉粥样硬化性心血管病风险。",
        "Several lipid values are abnormal, a pattern consistent with dyslipidaemia, which raises the risk of "
        "atherosclerotic cardiovascular disease.",
        "建议空腹12小时后复查血脂，并请医生结合血压、血糖、吸烟等评估心血管风险；注意饮食和运动。",
        "Repeat the lipids after a 12-hour fast and ask a doctor to assess cardiovascular risk together with "
        "blood pressure, glucose and smoking; mind diet and exercise.", {"lipids"},
    )


def metabolic_features(j: Items, sex, age):
    """Chinese Diabetes Society criteria without the waist: glucose >= 6.1, BP >= 130/85,
    TG >= 1.70, HDL < 1.04. Three of them present is worth saying; waist is not measured here."""
    met = []
    if (_value(j, "GLU") or 0) >= 6.1:
        met.append("GLU")
    met += [c for c, limit in (("SBP", 130), ("DBP", 85)) if (_value(j, c) or 0) >= limit]
    if (_value(j, "TG") or 0) >= 1.7:
        met.append("TG")
    if _value(j, "HDL") is not None and j["HDL"].value < 1.04:
        met.append("HDL")
    features = {"SBP": "bp", "DBP": "bp"}
    if len({features.get(c, c) for c in met}) < 3:
        return None
    return Finding(
        "pattern:metabolic", met, _level(j, met, FOLLOW_UP),
        "血糖、血压、甘油三酯、高密度脂蛋白中有三项或以上达到代谢综合征的判断标准（还需测量腰围才能判断），心血管病和糖尿病风险增加。",
        "Three or more of glucose, blood pressure, triglycerides and HDL meet the criteria used for metabolic "
        "syndrome (waist size is also needed to judge it), which raises the risk of heart disease and diabetes.",
        "请医生综合评估，控制体重、增加运动、减少饮酒。",
        "Ask a doctor for an overall assessment; manage weight, exercise more and drink less alcohol.",
        {"glucose", "bp", "lipids"},
    )
