"""The CRNN engine: CTC decoding, page segmentation, the shipped model on rendered lines
and on synthetic report pages. Real model, real pages; no mocks."""

import itertools

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ml.labreport.synth import FONT_PATH, SynthConfig, render_cbc_report
from ml.ocr.crnn.charset import Codec, build_charset, load_charset, normalise
from ml.ocr.crnn.config import WEIGHTS_DIR
from ml.ocr.crnn.data import LineRenderer
from ml.ocr.crnn.evaluate import evaluate_recogniser, held_out_lines, score_page
from ml.ocr.crnn.lexicon import Lexicon, ctc_log_likelihood
from ml.ocr.crnn.model import ctc_greedy_decode
from ml.ocr.crnn.segment import find_chunks

# Measured with the shipped model (crnn-20261122-s7-1552): CER 0.125 on 300 such lines,
# 0.006 on their numeric lines; 44 of 44 names and indicators on clean pages 21 and 22.
CER_BOUND = 0.16
NUMERIC_CER_BOUND = 0.02
NAME_RECALL_BOUND = 0.95
INDICATOR_BOUND = 0.9


@pytest.fixture(scope="module")
def engine():
    from ml.ocr.engines import get_engine

    return get_engine("crnn")


def one_hot_probabilities(path, num_classes=5, high=0.9):
    probabilities = np.full((len(path), num_classes), (1 - high) / (num_classes - 1))
    probabilities[np.arange(len(path)), path] = high
    return probabilities


def test_greedy_decoding_collapses_repeats_and_drops_blanks():
    # given a best path "a a _ a b b _" (blank is class 0)
    probabilities = one_hot_probabilities([1, 1, 0, 1, 2, 2, 0])
    probabilities[1, 1] = 0.95
    # when it is decoded
    ids, confidences, starts = ctc_greedy_decode(probabilities)
    # then repeats merge, a blank separates the doubled letter, and confidences are per character
    assert ids == [1, 1, 2]
    assert confidences == pytest.approx([0.95, 0.9, 0.9])
    assert starts == [0, 3, 4]


def test_greedy_decoding_of_all_blanks_is_empty():
    assert ctc_greedy_decode(one_hot_probabilities([0, 0, 0])) == ([], [], [])


def test_ctc_likelihood_sums_every_alignment():
    # given frame probabilities over 4 steps and 3 classes
    rng = np.random.default_rng(0)
    probabilities = rng.random((4, 3))
    probabilities /= probabilities.sum(axis=1, keepdims=True)

    def collapse(path):
        out, previous = [], None
        for cls in path:
            if cls != previous and cls != 0:
                out.append(cls)
            previous = cls
        return out

    for labels in ([1], [1, 1], [1, 2], [2, 1, 2]):
        # when the forward algorithm scores a labelling
        score = ctc_log_likelihood(np.log(probabilities), labels)
        # then it equals the sum over every path that collapses to it
        paths = itertools.product(range(3), repeat=4)
        brute = sum(np.prod([probabilities[t, c] for t, c in enumerate(p)]) for p in paths if collapse(p) == labels)
        assert score == pytest.approx(np.log(brute) if brute else -np.inf)


def test_the_lexicon_settles_a_near_miss_by_likelihood():
    # given a reading where the model hesitated between a wrong character and 碱
    codec = Codec(load_charset(WEIGHTS_DIR / "charset.txt"))
    term = "嗜碱性粒细胞百分比"
    path = []
    for char in term:
        path += [codec.index[char], 0]
    probabilities = np.full((len(path), codec.num_classes), 1e-6)
    probabilities[np.arange(len(path)), path] = 0.99
    probabilities[2, codec.index["碱"]] = 0.40
    probabilities[2, codec.index["减"]] = 0.59
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    ids, _confidences, _starts = ctc_greedy_decode(probabilities)
    reading = codec.decode(ids)
    assert reading == "嗜减性粒细胞百分比"
    # when the lexicon looks at it
    lexicon = Lexicon(codec)
    # then the term the probabilities support wins over its one-character neighbour 嗜酸...
    assert lexicon.correct(reading, probabilities) == term
    # and a number is never touched
    assert lexicon.correct("4.56", probabilities) is None


def test_labels_are_normalised_to_one_spelling():
    codec = Codec(load_charset(WEIGHTS_DIR / "charset.txt"))
    assert normalise("姓名：王伟（男）  µmol/L") == "姓名:王伟(男) μmol/L"
    assert codec.decode(codec.encode("白细胞计数：4.56↑")) == "白细胞计数:4.56↑"


def test_the_shipped_charset_is_the_one_the_build_makes():
    assert load_charset(WEIGHTS_DIR / "charset.txt") == build_charset()


def test_the_charset_covers_report_vocabulary_and_common_characters():
    chars = load_charset(WEIGHTS_DIR / "charset.txt")
    codec = Codec(chars)
    assert sum("\u4e00" <= c <= "\u9fff" for c in chars) >= 3500
    for text in ("平均红细胞血红蛋白浓度", "丙氨酸氨基转移酶", "糖化血红蛋白", "低密度脂蛋白胆固醇", "10^9/L", "μmol/L", "3.5-9.5↑"):
        assert codec.covers(text), text


def test_segmentation_finds_every_item_name_with_its_box():
    # given a clean report page
    image, truth = render_cbc_report(seed=1, config=SynthConfig(photo=None))
    # when it is segmented
    chunks = find_chunks(image)
    # then the name column (x = 160 px on a 1240 px page) holds the header and the 22 names,
    # top to bottom, each as wide as the name's ink
    name_column = sorted((c for c in chunks if abs(c.box[0] - 162) <= 6), key=lambda c: c.box[1])
    assert len(name_column) == 1 + len(truth["items"])
    font = ImageFont.truetype(str(FONT_PATH), 27)
    for chunk, item in zip(name_column[1:], truth["items"]):
        rendered = Image.new("L", (600, 60), 255)
        ImageDraw.Draw(rendered).text((10, 10), item["name"], font=font, fill=0)
        columns = np.flatnonzero((np.asarray(rendered) < 128).any(axis=0))
        assert abs((chunk.box[2] - chunk.box[0]) - (columns[-1] + 1 - columns[0])) <= 3, item["name"]
        # the crop keeps the whole ink box
        assert chunk.crop_box[0] <= chunk.box[0] and chunk.crop_box[2] >= chunk.box[2]
        assert chunk.crop_box[1] <= chunk.box[1] and chunk.crop_box[3] >= chunk.box[3]


def test_a_blank_page_has_no_chunks(engine):
    page = np.full((800, 600), 255, np.uint8)
    assert find_chunks(page) == []
    assert engine.read(page) == []


def test_the_shipped_model_reads_held_out_lines(engine):
    # given lines rendered with the font every machine has, from a seed training never used
    renderer = LineRenderer(engine.recogniser.codec, fonts=[(str(FONT_PATH), 0, 1.0)])
    lines = held_out_lines(renderer, 150, seed=424242)
    # when the shipped model reads them
    metrics = evaluate_recogniser(engine.recogniser, lines)
    # then the character error rate stays below the bound measured when the model shipped
    assert metrics["all"]["cer"] <= CER_BOUND, metrics
    assert metrics["numeric"]["cer"] <= NUMERIC_CER_BOUND, metrics


def test_the_engine_reads_item_names_and_values_on_a_clean_page(engine):
    # given a clean report page
    totals = {"items": 0, "names": 0, "indicators": 0}
    for seed in (21,):
        image, truth = render_cbc_report(seed=seed, config=SynthConfig(photo=None))
        # when the engine reads them
        words = engine.read(image)
        assert all(0 <= w.box[0] < w.box[2] <= image.shape[1] and 0 <= w.box[1] < w.box[3] <= image.shape[0] for w in words)
        assert all(0.0 <= w.confidence <= 1.0 for w in words)
        page = score_page(words, truth)
        for key in totals:
            totals[key] += page[key]
    # then most item names, and their values on the same row, come back exactly
    assert totals["names"] / totals["items"] >= NAME_RECALL_BOUND, totals
    assert totals["indicators"] / totals["items"] >= INDICATOR_BOUND, totals


def test_grayscale_and_colour_input_read_the_same(engine):
    image, _truth = render_cbc_report(seed=23, config=SynthConfig(photo=None))
    crop = image[550:900]
    gray = crop.mean(axis=2).round().astype(np.uint8)
    assert [w.text for w in engine.read(crop)] == [w.text for w in engine.read(gray)]


def test_the_engine_carries_the_model_card_version(engine):
    assert engine.name == "crnn"
    assert engine.version.startswith("crnn-")
