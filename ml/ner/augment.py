"""Mention replacement: extra training records in which some entities are
swapped for other mentions of the same type seen in the training split
(Dai & Adel, "An Analysis of Simple Data Augmentation for Named Entity
Recognition", COLING 2020). The context around an entity stays real; the model
sees more entity strings in each context, and more contexts for each string.

Only training records are augmented (never dev), and only with mentions from
those same training records, so no dev text leaks into training.
"""

import random

from .data import Record, Span


def mention_pool(records: list[Record]) -> dict[str, list[str]]:
    """Distinct mention strings per label, in first-seen order (deterministic)."""
    pool: dict[str, dict[str, None]] = {}
    for record in records:
        for span in record.spans:
            pool.setdefault(span.label, {})[record.text[span.start : span.end]] = None
    return {label: list(mentions) for label, mentions in pool.items()}


def replace_mentions(record: Record, pool: dict[str, list[str]], rng: random.Random, rate: float) -> Record:
    """A copy of `record` with each entity replaced, with probability `rate`, by
    another mention of its label; offsets of every span are recomputed."""
    pieces, spans, at, shift = [], [], 0, 0
    for span in sorted(record.spans, key=lambda s: (s.start, s.end)):
        if span.start < at:  # overlapping spans (rare in CCKS): keep the first only
            continue
        mention = record.text[span.start : span.end]
        choices = pool.get(span.label, [])
        if len(choices) > 1 and rng.random() < rate:
            other = choices[rng.randrange(len(choices))]
            if other != mention:
                mention = other
        pieces.append(record.text[at : span.start])
        start = span.start + shift
        pieces.append(mention)
        spans.append(Span(start, start + len(mention), span.label))
        shift += len(mention) - (span.end - span.start)
        at = span.end
    pieces.append(record.text[at:])
    return Record("".join(pieces), spans)


def augmented(records: list[Record], *, copies: int, rate: float, seed: int) -> list[Record]:
    """`copies` replaced versions of every record (records without entities are skipped)."""
    rng = random.Random(seed)
    pool = mention_pool(records)
    return [replace_mentions(record, pool, rng, rate) for _ in range(copies) for record in records if record.spans]
