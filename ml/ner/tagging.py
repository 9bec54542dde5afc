"""BIO and BIOES tag sequences from spans and back."""

from .data import Span


def tag_names(codes: tuple[str, ...] | list[str], scheme: str) -> list[str]:
    prefixes = {"bio": "BI", "bioes": "BIES"}[scheme]
    return ["O"] + [f"{p}-{code}" for code in codes for p in prefixes]


def encode(length: int, spans: list[Span], scheme: str) -> list[str]:
    tags = ["O"] * length
    for span in spans:
        size = span.end - span.start
        if scheme == "bioes" and size == 1:
            tags[span.start] = f"S-{span.label}"
            continue
        tags[span.start] = f"B-{span.label}"
        for i in range(span.start + 1, span.end):
            tags[i] = f"I-{span.label}"
        if scheme == "bioes":
            tags[span.end - 1] = f"E-{span.label}"
    return tags


def decode(tags: list[str]) -> list[Span]:
    """Spans from a tag sequence (BIO or BIOES). Lenient on ill-formed sequences,
    the way CNN argmax output can be: an I/E after O or after another type starts
    a new entity, so a prediction is never silently dropped."""
    spans, start, label = [], None, None

    def close(end):
        nonlocal start, label
        if start is not None:
            spans.append(Span(start, end, label))
        start, label = None, None

    for i, tag in enumerate(tags):
        if tag == "O":
            close(i)
            continue
        prefix, code = tag.split("-", 1)
        if prefix in ("B", "S") or start is None or code != label:
            close(i)
            start, label = i, code
        if prefix in ("E", "S"):
            close(i + 1)
    close(len(tags))
    return spans
