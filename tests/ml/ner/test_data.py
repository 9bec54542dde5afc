"""Loading the two file formats, the split, windows and tags."""

import random

import pytest

from ml.ner.data import DataFormatError, Span, flatten, load_ccks, load_cmeee, parse_ccks_line, parse_cmeee_line, split_train_dev
from ml.ner.tagging import decode, encode
from ml.ner.windows import plan_windows

from .fixtures import CCKS_TEXTS, write_ccks_dir, write_cmeee_dir


def test_ccks_files_with_bom_and_crlf_load_with_exclusive_ends(tmp_path):
    # given the two official-style files (BOM, CRLF in part 2)
    root = write_ccks_dir(tmp_path / "ccks", repeat=1)
    # when loaded
    records = load_ccks(root)
    # then every record is there, no BOM or CR leaked into the text, and ends are exclusive
    assert len(records) == len(CCKS_TEXTS)
    assert all(not r.text.startswith("\ufeff") and "\r" not in r.text for r in records)
    first = records[0]
    assert [first.text[s.start : s.end] for s in first.spans] == ["直肠癌", "直肠癌根治术", "奥沙利铂"]
    assert [s.label for s in first.spans] == ["DIS", "OPE", "DRU"]


def test_cmeee_inclusive_ends_become_exclusive_and_nesting_is_flattened(tmp_path):
    # given a CMeEE file whose first line nests 胃 (bod) inside 胃溃疡 (dis)
    records = load_cmeee(write_cmeee_dir(tmp_path / "cmeee"))
    # then the longer entity is kept, ends are exclusive
    first = records[0]
    assert [(first.text[s.start : s.end], s.label) for s in first.spans] == [("胃溃疡", "DIS"), ("上腹痛", "SYM")]


def test_cmeee_impossible_spans_are_skipped_unless_strict():
    line = "胃痛。|||1    0    sym|||0    0    bod|||"
    assert parse_cmeee_line(line).spans == [Span(0, 1, "BOD")]
    with pytest.raises(DataFormatError):
        parse_cmeee_line(line, strict=True)


@pytest.mark.parametrize("line", ['{"originalText": 3', '{"text": "x"}', '[1, 2]',
                                  '{"originalText": "胃癌", "entities": [{"label_type": "疾病和诊断", "start_pos": 0, "end_pos": 9}]}',
                                  '{"originalText": "胃癌", "entities": [{"label_type": "症状", "start_pos": 0, "end_pos": 2}]}'])
def test_malformed_ccks_lines_are_refused_clearly(line):
    with pytest.raises(DataFormatError):
        parse_ccks_line(line, where="x:1")


def test_split_is_70_30_and_fixed_by_the_seed():
    records = list(range(1000))
    train, dev = split_train_dev(records, seed=42)
    assert (len(train), len(dev)) == (700, 300)
    assert set(train) | set(dev) == set(records)
    assert split_train_dev(records, seed=42) == (train, dev)
    assert split_train_dev(records, seed=7)[1] != dev


def test_flatten_keeps_longest_non_overlapping():
    spans = [Span(0, 2, "A"), Span(0, 5, "B"), Span(4, 8, "C"), Span(6, 8, "D")]
    assert flatten(spans) == [Span(0, 5, "B"), Span(6, 8, "D")]


@pytest.mark.parametrize("scheme", ["bio", "bioes"])
def test_tags_round_trip(scheme):
    spans = [Span(0, 1, "DIS"), Span(1, 4, "OPE"), Span(6, 8, "DRU")]
    assert decode(encode(10, spans, scheme)) == spans


def test_decoding_ill_formed_tags_keeps_every_prediction():
    # an argmax tagger can emit I- after O, or switch type mid-entity
    assert decode(["O", "I-DIS", "I-DIS", "B-OPE", "I-DRU", "O"]) == [Span(1, 3, "DIS"), Span(3, 4, "OPE"), Span(4, 5, "DRU")]


def test_windows_never_cut_a_protected_span_and_cover_the_text():
    rng = random.Random(3)
    alphabet = "患者胃癌术后，。肝脏CT"
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        spans, at = [], 0
        while at < len(text) - 6:
            start = at + rng.randint(0, 10)
            end = min(len(text), start + rng.randint(1, 6))
            if start < end:
                spans.append((start, end))
            at = end + 1
        windows = plan_windows(text, 32, spans)
        # then the windows tile the text exactly, each fits, and no span is cut
        assert "".join(text[a:b] for a, b in windows) == text
        assert all(0 < b - a <= 32 for a, b in windows)
        cuts = {b for _, b in windows[:-1]}
        assert not any(s < cut < e for s, e in spans for cut in cuts)


def test_windows_prefer_sentence_ends():
    text = "患者胃癌术后。" * 10
    assert all(text[b - 1] == "。" for _, b in plan_windows(text, 20)[:-1])
