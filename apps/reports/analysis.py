"""The adapter between the reports app and ml.labreport: the only module here that
calls the pipeline. No database access: the task reads what it needs first, runs this
outside any transaction (a page takes seconds), then stores the result.

Engines are loaded once per worker process (ml.ocr.engines.get_engine keeps them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings

from ml.labreport.images import ImageLimits, ImageRejected, decode_upload
from ml.labreport.types import Analysis, ExtractedItem, Interpretation


def upload_limits() -> ImageLimits:
    return ImageLimits(max_bytes=settings.LAB_REPORT_MAX_UPLOAD_BYTES)


@dataclass
class ReportAnalysis:
    """Every analysed page merged into one report."""

    items: list[ExtractedItem]
    interpretation: Interpretation | None
    rotation: int
    engine: str
    engine_version: str
    page_count: int
    pages_analysed: int
    timings_ms: dict[str, float] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class AnalysisFailed(Exception):
    """The report could not be analysed; `code` and `reason` are for the user."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def analyse_upload(data: bytes, *, engine: str, sex: str | None, age: int | None) -> ReportAnalysis:
    """Decode, read every page, merge the pages' items (first reading of a code wins)
    and interpret them. Raises ImageRejected for a file that cannot be read and
    AnalysisFailed("no_indicators") when nothing was recognised."""
    started = time.perf_counter()
    decoded = decode_upload(data, limits=upload_limits())
    from ml.labreport.pipeline import analyse_image

    timings = {"decode_ms": (time.perf_counter() - started) * 1000}
    analyses: list[Analysis] = [analyse_image(page, engine=engine, sex=sex, age=age) for page in decoded.pages]
    items, seen = [], set()
    for analysis in analyses:
        for item in analysis.items:
            if item.code not in seen:
                seen.add(item.code)
                items.append(item)
        for step, milliseconds in analysis.timings_ms.items():
            timings[step] = timings.get(step, 0.0) + milliseconds
    first = analyses[0]
    result = ReportAnalysis(
        items=items, interpretation=None, rotation=(first.rotation + decoded.exif_rotation) % 360,
        engine=first.engine, engine_version=first.engine_version, page_count=decoded.page_count,
        pages_analysed=len(decoded.pages), timings_ms=timings,
        lines=[line for analysis in analyses for line in analysis.lines],
        warnings=sorted({w for analysis in analyses for w in analysis.warnings} | set(decoded.warnings)),
    )
    if not items:
        raise AnalysisFailed("no_indicators", "No lab indicators were recognised on the report.")
    from ml.labreport.interpret import interpret

    interpreted_at = time.perf_counter()
    result.interpretation = interpret(items, sex=sex, age=age)
    result.timings_ms["interpret_ms"] = (time.perf_counter() - interpreted_at) * 1000
    result.timings_ms["total_ms"] = (time.perf_counter() - started) * 1000
    return result


__all__ = ["AnalysisFailed", "ImageRejected", "ReportAnalysis", "analyse_upload", "upload_limits"]
