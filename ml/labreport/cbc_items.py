"""Complete blood count items: codes, Chinese names, units and adult reference ranges.

Ranges follow the common Chinese adult reference intervals (WS/T 405-2012 style); where
men and women differ, a merged interval is used, which is enough for synthetic reports.
`mean` and `sd` describe the distribution the synthetic renderer draws values from; they
are wide on purpose so that a share of values fall outside the range and get flagged.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class CbcItem:
    code: str
    name: str
    unit: str
    range_low: float
    range_high: float
    decimals: int
    mean: float
    sd: float


CBC_ITEMS: tuple[CbcItem, ...] = (
    CbcItem("WBC", "白细胞计数", "10^9/L", 3.5, 9.5, 2, 6.5, 2.2),
    CbcItem("NEUT#", "中性粒细胞绝对值", "10^9/L", 1.8, 6.3, 2, 4.0, 1.6),
    CbcItem("LYMPH#", "淋巴细胞绝对值", "10^9/L", 1.1, 3.2, 2, 2.0, 0.7),
    CbcItem("MONO#", "单核细胞绝对值", "10^9/L", 0.1, 0.6, 2, 0.4, 0.15),
    CbcItem("EO#", "嗜酸性粒细胞绝对值", "10^9/L", 0.02, 0.52, 2, 0.2, 0.15),
    CbcItem("BASO#", "嗜碱性粒细胞绝对值", "10^9/L", 0.0, 0.06, 2, 0.03, 0.02),
    CbcItem("NEUT%", "中性粒细胞百分比", "%", 40.0, 75.0, 1, 60.0, 10.0),
    CbcItem("LYMPH%", "淋巴细胞百分比", "%", 20.0, 50.0, 1, 30.0, 9.0),
    CbcItem("MONO%", "单核细胞百分比", "%", 3.0, 10.0, 1, 6.5, 2.2),
    CbcItem("EO%", "嗜酸性粒细胞百分比", "%", 0.4, 8.0, 1, 2.5, 2.0),
    CbcItem("BASO%", "嗜碱性粒细胞百分比", "%", 0.0, 1.0, 1, 0.5, 0.3),
    CbcItem("RBC", "红细胞计数", "10^12/L", 3.8, 5.8, 2, 4.7, 0.6),
    CbcItem("HGB", "血红蛋白", "g/L", 115.0, 175.0, 0, 140.0, 18.0),
    CbcItem("HCT", "红细胞压积", "%", 35.0, 50.0, 1, 42.0, 5.0),
    CbcItem("MCV", "平均红细胞体积", "fL", 82.0, 100.0, 1, 90.0, 6.0),
    CbcItem("MCH", "平均红细胞血红蛋白含量", "pg", 27.0, 34.0, 1, 30.0, 2.3),
    CbcItem("MCHC", "平均红细胞血红蛋白浓度", "g/L", 316.0, 354.0, 0, 335.0, 13.0),
    CbcItem("RDW", "红细胞分布宽度", "%", 11.5, 14.5, 1, 13.0, 1.1),
    CbcItem("PLT", "血小板计数", "10^9/L", 125.0, 350.0, 0, 230.0, 70.0),
    CbcItem("PCT", "血小板压积", "%", 0.11, 0.28, 2, 0.2, 0.05),
    CbcItem("PDW", "血小板分布宽度", "%", 9.0, 17.0, 1, 13.0, 2.8),
    CbcItem("MPV", "平均血小板体积", "fL", 7.4, 12.5, 1, 10.0, 1.6),
)

CBC_ITEMS_BY_CODE: dict[str, CbcItem] = {item.code: item for item in CBC_ITEMS}
