"""What the lab-report pipeline produces (no Django). The reports app stores these.

Pipeline contract (ml/labreport/pipeline.py):

    analyse_image(image: np.ndarray, *, engine: str = "tesseract",
                  sex: str | None = None, age: int | None = None) -> Analysis

`image` is a decoded BGR or grayscale uint8 page (ml/labreport/images.py decodes and
validates uploads). Interpretation (ml/labreport/interpret.py) then turns
`Analysis.items` into an `Interpretation`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


class Flag:
    HIGH = "H"
    LOW = "L"
    NORMAL = "N"
    UNKNOWN = ""  # no range to judge against


@dataclass
class ExtractedItem:
    code: str  # standard code: WBC, HGB, GLU, ALT, SBP, ...
    name: str  # the name as printed (after OCR)
    value: float | None  # None when the printed result is not a number ("阴性")
    value_text: str  # the result as printed
    unit: str  # normalised unit ("10^9/L", "g/L", "mmol/L", "%", ...)
    range_low: float | None
    range_high: float | None
    range_source: str  # "printed" or "table" (the sex- and age-aware fallback)
    flag: str  # Flag.*
    confidence: float  # engine confidence of the row, 0-1

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Analysis:
    items: list[ExtractedItem]
    rotation: int  # degrees clockwise the photo was turned (0/90/180/270); we undid it
    engine: str
    engine_version: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # the page's text lines, for display and debugging
    warnings: list[str] = field(default_factory=list)  # e.g. "low_contrast", "no_indicators"

    def as_dict(self) -> dict:
        return {**asdict(self), "items": [item.as_dict() for item in self.items]}


@dataclass
class Statement:
    """One sentence of the interpretation and the indicator codes it rests on."""

    text_zh: str
    text_en: str
    codes: list[str]


@dataclass
class Interpretation:
    abnormal: list[Statement]  # one per abnormal item or pattern, most important first
    conclusion: Statement  # the overall conclusion
    advice: list[Statement]  # when to see a doctor, and what to do meanwhile
    urgency: str  # "routine" | "soon" | "urgent"
    model_version: str

    def as_dict(self) -> dict:
        return asdict(self)
