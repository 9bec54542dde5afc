"""Loading CCKS 2019 and CMeEE records into one shape: text plus entity spans.

Offsets are character offsets into the text, end EXCLUSIVE everywhere in this
package (CCKS's own convention); CMeEE's inclusive ends are converted on load.
"""

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from .labels import CCKS_CODES, CMEEE_CODES


@dataclass(frozen=True)
class Span:
    start: int
    end: int  # exclusive
    label: str  # a code: DIS, OPE, ... for CCKS, DIS, SYM, ... for CMeEE


@dataclass
class Record:
    text: str
    spans: list[Span] = field(default_factory=list)


class DataFormatError(ValueError):
    """A data file that is not in the format it claims to be."""


def _valid(span: Span, text: str) -> bool:
    return 0 <= span.start < span.end <= len(text)


def parse_ccks_line(line: str, *, where: str = "") -> Record:
    try:
        item = json.loads(line)
        text = item["originalText"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise DataFormatError(f"{where}: not a CCKS record ({error})") from error
    spans = []
    for entity in item.get("entities", []):
        code = CCKS_CODES.get(entity.get("label_type"))
        span = Span(int(entity["start_pos"]), int(entity["end_pos"]), code or "")
        if code is None or not _valid(span, text):
            raise DataFormatError(f"{where}: bad entity {entity}")
        spans.append(span)
    return Record(text, sorted(spans, key=lambda s: (s.start, s.end)))


def ccks_files(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_file():
        return [path]
    files = sorted(p for p in path.glob("*.txt") if "training" in p.name) or sorted(path.glob("*.txt"))
    files += sorted(path.glob("*.jsonl"))
    if not files:
        raise DataFormatError(f"{path}: no CCKS files (*.txt, *.jsonl)")
    return files


def load_ccks(path: str | Path) -> list[Record]:
    """Every record of a CCKS file or directory; `utf-8-sig` strips the BOM, and
    reading in text mode folds the CRLF line ends of part 2."""
    records = []
    for file in ccks_files(path):
        for number, line in enumerate(file.read_text(encoding="utf-8-sig").splitlines(), 1):
            if line.strip():
                records.append(parse_ccks_line(line, where=f"{file.name}:{number}"))
    return records


def parse_cmeee_line(line: str, *, where: str = "", strict: bool = False) -> Record:
    """One CMeEE line. The public files hold a few impossible spans (end before
    start); those are skipped unless `strict`, the rest of the line is kept."""
    parts = line.rstrip("\r\n").split("|||")
    text = parts[0]
    spans = []
    for part in parts[1:]:
        if not part.strip():
            continue
        fields = part.split()
        if len(fields) != 3 or fields[2] not in CMEEE_CODES:
            raise DataFormatError(f"{where}: bad entity {part!r}")
        span = Span(int(fields[0]), int(fields[1]) + 1, CMEEE_CODES[fields[2]])  # inclusive -> exclusive
        if not _valid(span, text):
            if strict:
                raise DataFormatError(f"{where}: entity {part!r} outside the text")
            continue
        spans.append(span)
    return Record(text, flatten(spans))


def flatten(spans: list[Span]) -> list[Span]:
    """Nested entities (CMeEE has them) cannot be tagged flat: keep the longest,
    then the earliest, and drop what overlaps an entity already kept."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if all(span.end <= other.start or other.end <= span.start for other in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def load_cmeee(path: str | Path) -> list[Record]:
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.glob("train*.txt"))
    if not files:
        raise DataFormatError(f"{path}: no CMeEE files (train*.txt)")
    records = []
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8-sig").splitlines(), 1):
            if line.strip():
                records.append(parse_cmeee_line(line, where=f"{file.name}:{number}"))
    return records


def split_train_dev(records: list[Record], *, dev_fraction: float = 0.3, seed: int = 42):
    """The reference's 70/30 split of the 1,000 training records, fixed by a seed."""
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    cut = round(len(records) * (1 - dev_fraction))
    return [records[i] for i in order[:cut]], [records[i] for i in order[cut:]]


def record_to_ccks(text: str, spans: list[Span]) -> dict:
    from .labels import CCKS_NAMES

    return {
        "originalText": text,
        "entities": [{"start_pos": s.start, "end_pos": s.end, "label_type": CCKS_NAMES[s.label]} for s in spans],
    }
