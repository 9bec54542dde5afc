"""The whole pipeline on generated report photos, with the real OCR engines."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from ml.labreport.pipeline import analyse_image
from ml.labreport.synth import PhotoConfig, SynthConfig, render_cbc_report, render_report
from ml.ocr.engines import UnknownEngine
from ml.ocr.preprocess import prepare_page


def exact_values(analysis, truth) -> int:
    found = {item.code: item.value for item in analysis.items}
    return sum(1 for item in truth["items"] if found.get(item["code"]) == item["value"])


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_preparation_turns_a_photo_upright(rotation):
    image, truth = render_cbc_report(seed=40 + rotation, config=SynthConfig(rotation=rotation))

    page = prepare_page(image)

    assert page.rotation == rotation
    assert page.page_found


def test_preparation_removes_the_skew_of_a_flat_scan():
    # Given: a scan (no perspective, no background) turned 4 degrees
    config = SynthConfig(photo=PhotoConfig(perspective=False, rotations=(0,)), skew_degrees=4.0)
    image, _ = render_cbc_report(seed=7, config=config)

    page = prepare_page(image)

    assert page.skew_degrees == pytest.approx(4.0, abs=0.3)


@pytest.mark.parametrize(("engine", "at_least"), [("tesseract", 20), ("rapidocr", 21)])
def test_an_engine_reads_a_photographed_blood_count(engine, at_least):
    # Given: a phone-photo-like blood count (22 items), turned upside down
    image, truth = render_cbc_report(seed=2001, config=SynthConfig(rotation=180))

    # When
    analysis = analyse_image(image, engine=engine, sex=truth["sex"], age=truth["age"])

    # Then
    assert analysis.rotation == 180
    assert exact_values(analysis, truth) >= at_least
    assert {"perspective_ms", "ocr_ms", "extract_ms", "total_ms"} <= set(analysis.timings_ms)
    flagged = {item.code: item.flag for item in analysis.items}
    assert all(flagged.get(item["code"]) == (item["flag"] or "N") for item in truth["items"]
               if item["code"] in flagged and item["value"] == next(
                   i.value for i in analysis.items if i.code == item["code"]))


def test_other_panels_and_layouts_are_read():
    config = SynthConfig(panels=("liver", "kidney"), layouts=("coded", "inline"), rotation=0)
    for seed in (3, 4):
        image, truth = render_report(seed, config)

        analysis = analyse_image(image, engine="rapidocr", sex=truth["sex"], age=truth["age"])

        assert exact_values(analysis, truth) == len(truth["items"]), (truth["panel"], truth["layout"])


def test_an_empty_page_gives_no_indicators_and_says_so():
    blank = np.full((1400, 1000, 3), 245, np.uint8)
    cv2.putText(blank, "Hello", (100, 200), cv2.FONT_HERSHEY_SIMPLEX, 2, (0, 0, 0), 3)

    analysis = analyse_image(blank, engine="tesseract")

    assert analysis.items == []
    assert analysis.warnings == ["no_indicators"]


def test_an_unknown_engine_is_refused():
    with pytest.raises(UnknownEngine):
        analyse_image(np.zeros((10, 10), np.uint8), engine="gpt")


def test_the_cli_prints_one_json_object_per_image(tmp_path):
    # Given: one report photo and one file that is not an image
    image, truth = render_cbc_report(seed=2002, config=SynthConfig(rotation=90))
    photo = tmp_path / "report.jpg"
    cv2.imwrite(str(photo), image)
    junk = tmp_path / "notes.txt"
    junk.write_text("not an image")

    # When
    result = subprocess.run([sys.executable, "-m", "ml.labreport", "extract", str(photo), str(junk),
                             "--engine", "tesseract"], capture_output=True, text=True, timeout=120)

    # Then
    first, second = [json.loads(line) for line in result.stdout.splitlines()]
    assert first["file"] == str(photo) and first["rotation"] == 90
    assert set(first["items"][0]) == {"code", "name", "value", "unit", "range_low", "range_high", "flag"}
    assert len(first["items"]) >= 20 and "total_ms" in first["timings_ms"]
    assert second["file"] == str(junk) and second["error"]
    assert result.returncode == 1
