"""The indicators the platform understands: standard code, printed names, unit and
reference ranges (no Django).

Written for this project from the common Chinese adult reference intervals (WS/T 405-2012
for the blood count, WS/T 404 for biochemistry, the 2018 Chinese hypertension guideline
for blood pressure, the Chinese diabetes guideline for glucose and HbA1c). A printed
reference range on the report always wins; this table is the fallback when the report
prints none, and it knows where men, women and children differ.

`aliases` are every way a report (or an OCR engine misreading one) names the item: the
Chinese name and its variants, English names, abbreviations. Matching normalises case,
width and punctuation first (see ml/labreport/aliases.py), so the aliases here are
written plainly.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    sex: str | None = None  # "M", "F" or None for both
    min_age: int = 0  # inclusive, years
    max_age: int = 200  # exclusive

    def applies(self, sex: str | None, age: int | None) -> bool:
        if self.sex is not None and sex is not None and sex != self.sex:
            return False
        return age is None or self.min_age <= age < self.max_age


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str  # the standard Chinese name
    panel: str  # "cbc", "bp", "glucose", "liver", "kidney", "lipids"
    unit: str  # the unit values are stored in
    decimals: int
    ranges: tuple[Range, ...]
    aliases: tuple[str, ...] = field(default_factory=tuple)
    # distribution of synthetic values (the generator's; real data where we have it)
    mean: float = 0.0
    sd: float = 0.0

    def range_for(self, sex: str | None = None, age: int | None = None) -> Range:
        """The range that applies: the sex's own when known, a both-sexes range
        otherwise (or the span of the men's and women's when there is none); an
        unknown age counts as adult."""
        years = 30 if age is None else age
        fitting = [r for r in self.ranges if r.min_age <= years < r.max_age] or list(self.ranges)

        # The narrowest age band wins (a child's range over an adult's), then the sex's own.
        candidates = [r for r in fitting if r.sex is None or (sex is not None and r.sex == sex)]
        if candidates:
            return min(candidates, key=lambda r: (r.max_age - r.min_age, r.sex is None))
        return Range(min(r.low for r in fitting), max(r.high for r in fitting))


def _i(code, name, panel, unit, decimals, ranges, aliases=(), mean=0.0, sd=0.0) -> Indicator:
    ranges = tuple(r if isinstance(r, Range) else Range(*r) for r in ranges)
    return Indicator(code, name, panel, unit, decimals, ranges, tuple(aliases), mean, sd)


M, F = "M", "F"

INDICATORS: tuple[Indicator, ...] = (
    # --- complete blood count (血常规) ---------------------------------------------
    _i("WBC", "白细胞计数", "cbc", "10^9/L", 2, [(3.5, 9.5), (4.3, 11.3, None, 3, 14)],
       ["白细胞", "白细胞数", "白细胞记数", "白细胞总数", "White blood cell", "WBC count", "LEU"], 6.5, 2.2),
    _i("NEUT#", "中性粒细胞绝对值", "cbc", "10^9/L", 2, [(1.8, 6.3)],
       ["中性粒细胞计数", "中性粒细胞数", "中性粒细胞绝对数", "NEU#", "NEUT", "GRA", "GRAN#", "Neutrophils"], 4.0, 1.6),
    _i("LYMPH#", "淋巴细胞绝对值", "cbc", "10^9/L", 2, [(1.1, 3.2)],
       ["淋巴细胞计数", "淋巴细胞数", "淋巴细胞绝对数", "LYM#", "LYM", "LYMPH", "Lymphocytes"], 2.0, 0.7),
    _i("MONO#", "单核细胞绝对值", "cbc", "10^9/L", 2, [(0.1, 0.6)],
       ["单核细胞计数", "单核细胞数", "单核细胞绝对数", "MON#", "MONO", "Monocytes"], 0.4, 0.15),
    _i("EO#", "嗜酸性粒细胞绝对值", "cbc", "10^9/L", 2, [(0.02, 0.52)],
       ["嗜酸性粒细胞计数", "嗜酸性粒细胞数", "嗜酸粒细胞绝对值", "EOS#", "EO", "Eosinophils"], 0.2, 0.15),
    _i("BASO#", "嗜碱性粒细胞绝对值", "cbc", "10^9/L", 2, [(0.0, 0.06)],
       ["嗜碱性粒细胞计数", "嗜碱性粒细胞数", "嗜碱粒细胞绝对值", "BAS#", "BASO", "Basophils"], 0.03, 0.02),
    _i("NEUT%", "中性粒细胞百分比", "cbc", "%", 1, [(40.0, 75.0)],
       ["中性粒细胞比率", "中性粒细胞百分数", "中性粒细胞%", "NEU%", "GRA%", "GRAN%"], 60.0, 10.0),
    _i("LYMPH%", "淋巴细胞百分比", "cbc", "%", 1, [(20.0, 50.0)],
       ["淋巴细胞比率", "淋巴细胞百分数", "淋巴细胞%", "LYM%"], 30.0, 9.0),
    _i("MONO%", "单核细胞百分比", "cbc", "%", 1, [(3.0, 10.0)],
       ["单核细胞比率", "单核细胞百分数", "单核细胞%", "MON%"], 6.5, 2.2),
    _i("EO%", "嗜酸性粒细胞百分比", "cbc", "%", 1, [(0.4, 8.0)],
       ["嗜酸性粒细胞比率", "嗜酸性粒细胞百分数", "嗜酸粒细胞百分比", "EOS%"], 2.5, 2.0),
    _i("BASO%", "嗜碱性粒细胞百分比", "cbc", "%", 1, [(0.0, 1.0)],
       ["嗜碱性粒细胞比率", "嗜碱性粒细胞百分数", "嗜碱粒细胞百分比", "BAS%"], 0.5, 0.3),
    _i("RBC", "红细胞计数", "cbc", "10^12/L", 2, [(4.3, 5.8, M), (3.8, 5.1, F), (4.0, 5.5, None, 3, 14)],
       ["红细胞", "红细胞数", "红细胞记数", "红细胞总数", "Red blood cell", "ERY"], 4.7, 0.6),
    _i("HGB", "血红蛋白", "cbc", "g/L", 0, [(130.0, 175.0, M), (115.0, 150.0, F), (118.0, 156.0, None, 3, 14)],
       ["血红蛋白浓度", "血红蛋白量", "血色素", "Hemoglobin", "Haemoglobin", "HB", "Hb"], 140.0, 18.0),
    _i("HCT", "红细胞压积", "cbc", "%", 1, [(40.0, 50.0, M), (35.0, 45.0, F)],
       ["红细胞比积", "红细胞比容", "红细胞压积值", "Hematocrit", "PCV"], 42.0, 5.0),
    _i("MCV", "平均红细胞体积", "cbc", "fL", 1, [(82.0, 100.0)],
       ["红细胞平均体积", "平均红细胞容积"], 90.0, 6.0),
    _i("MCH", "平均红细胞血红蛋白含量", "cbc", "pg", 1, [(27.0, 34.0)],
       ["平均血红蛋白含量", "平均血红蛋白量", "平均红细胞血红蛋白量", "平均血红蛋白"], 30.0, 2.3),
    _i("MCHC", "平均红细胞血红蛋白浓度", "cbc", "g/L", 0, [(316.0, 354.0)],
       ["平均血红蛋白浓度"], 335.0, 13.0),
    _i("RDW", "红细胞分布宽度", "cbc", "%", 1, [(11.5, 14.5)],
       ["红细胞体积分布宽度", "红细胞分布宽度CV", "RDW-CV", "RDW%", "RDWCV"], 13.0, 1.1),
    _i("PLT", "血小板计数", "cbc", "10^9/L", 0, [(125.0, 350.0)],
       ["血小板", "血小板数", "血小板记数", "血小板总数", "Platelets", "Platelet count"], 230.0, 70.0),
    _i("PCT", "血小板压积", "cbc", "%", 2, [(0.11, 0.28)],
       ["血小板比积", "血小板比容", "血小板压积值"], 0.2, 0.05),
    _i("PDW", "血小板分布宽度", "cbc", "%", 1, [(9.0, 17.0)],
       ["血小板体积分布宽度", "PDW%"], 13.0, 2.8),
    _i("MPV", "平均血小板体积", "cbc", "fL", 1, [(7.4, 12.5)],
       ["血小板平均体积"], 10.0, 1.6),
    # --- blood pressure ------------------------------------------------------------
    _i("SBP", "收缩压", "bp", "mmHg", 0, [(90.0, 139.0)], ["高压", "收缩压(高压)", "Systolic", "SYS"], 128.0, 18.0),
    _i("DBP", "舒张压", "bp", "mmHg", 0, [(60.0, 89.0)], ["低压", "舒张压(低压)", "Diastolic", "DIA"], 80.0, 11.0),
    _i("PULSE", "脉搏", "bp", "次/分", 0, [(60.0, 100.0)], ["心率", "脉率", "Pulse", "HR", "PR"], 75.0, 12.0),
    # --- glucose -------------------------------------------------------------------
    _i("GLU", "空腹血糖", "glucose", "mmol/L", 2, [(3.9, 6.1)],
       ["葡萄糖", "血糖", "空腹葡萄糖", "空腹血糖(GLU)", "Glucose", "FPG", "GLU-FBG", "FBG"], 5.6, 1.4),
    _i("HBA1C", "糖化血红蛋白", "glucose", "%", 1, [(4.0, 6.0)],
       ["糖化血红蛋白A1c", "糖化血红蛋白HbA1c", "HbA1c", "A1C", "GHb"], 5.7, 0.9),
    # --- liver ---------------------------------------------------------------------
    _i("ALT", "丙氨酸氨基转移酶", "liver", "U/L", 0, [(9.0, 50.0, M), (7.0, 40.0, F)],
       ["谷丙转氨酶", "丙氨酸转氨酶", "GPT", "SGPT", "ALT(GPT)"], 28.0, 14.0),
    _i("AST", "天门冬氨酸氨基转移酶", "liver", "U/L", 0, [(15.0, 40.0, M), (13.0, 35.0, F)],
       ["谷草转氨酶", "天冬氨酸氨基转移酶", "天冬氨酸转氨酶", "GOT", "SGOT", "AST(GOT)"], 25.0, 9.0),
    _i("TBIL", "总胆红素", "liver", "µmol/L", 1, [(0.0, 23.0)], ["胆红素总量", "T-BIL", "TBil", "Total bilirubin"],
       12.0, 5.0),
    # --- kidney --------------------------------------------------------------------
    _i("CREA", "肌酐", "kidney", "µmol/L", 0, [(57.0, 97.0, M, 0, 60), (41.0, 73.0, F, 0, 60), (57.0, 111.0, M, 60),
                                              (41.0, 81.0, F, 60)],
       ["血肌酐", "肌酐(酶法)", "Creatinine", "CR", "Cr", "SCr", "CRE"], 75.0, 20.0),
    _i("UREA", "尿素", "kidney", "mmol/L", 2, [(3.1, 8.0, M, 0, 60), (2.6, 7.5, F, 0, 60), (3.6, 9.5, M, 60),
                                               (3.1, 8.8, F, 60), (2.6, 8.0)], ["尿素氮", "血尿素氮", "BUN", "Urea", "UN"], 5.2, 1.5),
    _i("UA", "尿酸", "kidney", "µmol/L", 0, [(208.0, 428.0, M), (155.0, 357.0, F)],
       ["血尿酸", "Uric acid", "URIC"], 330.0, 85.0),
    # --- lipids --------------------------------------------------------------------
    _i("TC", "总胆固醇", "lipids", "mmol/L", 2, [(0.0, 5.2)], ["胆固醇", "血清总胆固醇", "CHOL", "T-CHO", "TCHO"],
       4.8, 0.9),
    _i("TG", "甘油三酯", "lipids", "mmol/L", 2, [(0.0, 1.7)], ["三酰甘油", "甘油三脂", "Triglyceride", "TRIG"], 1.5, 0.8),
    _i("HDL", "高密度脂蛋白胆固醇", "lipids", "mmol/L", 2, [(1.04, float("inf"))],
       ["高密度脂蛋白", "HDL-C", "HDL-CH", "HDLC"], 1.3, 0.3),
    _i("LDL", "低密度脂蛋白胆固醇", "lipids", "mmol/L", 2, [(0.0, 3.4)],
       ["低密度脂蛋白", "LDL-C", "LDL-CH", "LDLC"], 2.9, 0.8),
)

INDICATORS_BY_CODE: dict[str, Indicator] = {indicator.code: indicator for indicator in INDICATORS}
PANELS: dict[str, tuple[Indicator, ...]] = {}
for _indicator in INDICATORS:
    PANELS[_indicator.panel] = (*PANELS.get(_indicator.panel, ()), _indicator)

PANEL_TITLES = {
    "cbc": "血常规（五分类）",
    "bp": "血压测量",
    "glucose": "血糖",
    "liver": "肝功能",
    "kidney": "肾功能",
    "lipids": "血脂四项",
}
