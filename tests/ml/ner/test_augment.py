"""Mention replacement keeps every span on its (new) text and its label, and
draws only on the given records' mentions."""

import random

from ml.ner.augment import augmented, mention_pool, replace_mentions
from ml.ner.data import Record, Span


def _record(text, *items):
    spans = []
    for mention, label in items:
        start = text.index(mention)
        spans.append(Span(start, start + len(mention), label))
    return Record(text, spans)


RECORDS = [
    _record("患者因直肠癌行直肠癌根治术，予奥沙利铂化疗。", ("直肠癌", "DIS"), ("直肠癌根治术", "OPE"), ("奥沙利铂", "DRU")),
    _record("胃癌术后，予卡培他滨口服。", ("胃癌", "DIS"), ("卡培他滨", "DRU")),
    _record("腹部CT示肝转移瘤。", ("腹部CT", "IMA"), ("肝转移瘤", "DIS")),
    Record("无特殊。", []),
]


def test_pool_holds_distinct_mentions_per_label_in_order():
    assert mention_pool(RECORDS) == {"DIS": ["直肠癌", "胃癌", "肝转移瘤"], "OPE": ["直肠癌根治术"], "DRU": ["奥沙利铂", "卡培他滨"],
                                     "IMA": ["腹部CT"]}


def test_replaced_spans_stay_on_their_text_with_their_label():
    pool = mention_pool(RECORDS)
    rng = random.Random(3)
    changed = 0
    for _ in range(50):
        for record in RECORDS:
            copy = replace_mentions(record, pool, rng, rate=0.7)
            assert [s.label for s in copy.spans] == [s.label for s in record.spans]
            for span in copy.spans:
                assert copy.text[span.start : span.end] in pool[span.label]
            # the context between entities is untouched
            assert copy.text.endswith(record.text[record.spans[-1].end :] if record.spans else record.text)
            changed += copy.text != record.text
    assert changed > 0


def test_rate_zero_is_the_identity_and_augmented_is_seeded():
    pool = mention_pool(RECORDS)
    assert all(replace_mentions(r, pool, random.Random(0), rate=0.0) == r for r in RECORDS)
    first = augmented(RECORDS, copies=2, rate=0.5, seed=1)
    assert len(first) == 6  # the record without entities is not copied
    assert first == augmented(RECORDS, copies=2, rate=0.5, seed=1)
