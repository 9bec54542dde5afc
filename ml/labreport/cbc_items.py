"""The complete blood count (血常规) panel of the indicator catalogue, flattened: one
range per item, spanning men and women where they differ. The catalogue
(ml/labreport/indicators.py) is the one source; this is a view of it for callers that
want a single adult interval."""

from dataclasses import dataclass

from ml.labreport.indicators import PANELS


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


CBC_ITEMS: tuple[CbcItem, ...] = tuple(
    CbcItem(indicator.code, indicator.name, indicator.unit, reference.low, reference.high, indicator.decimals,
            indicator.mean, indicator.sd)
    for indicator in PANELS["cbc"]
    for reference in [indicator.range_for()]
)

CBC_ITEMS_BY_CODE: dict[str, CbcItem] = {item.code: item for item in CBC_ITEMS}
