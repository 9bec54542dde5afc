"""Indicator extraction from OCR words: rows, cells, names, values, units, ranges, flags.
Words are laid out by hand the way engines return them, so these tests need no OCR."""

import pytest

from ml.labreport.aliases import match_name
from ml.labreport.extract import extract_items, normalise_unit, parse_range, parse_value
from ml.ocr.types import Word


def row(y: int, *cells: str, height: int = 24, char_width: int = 24, gap: int = 80) -> list[Word]:
    """One table row: each cell a word, cells `gap` pixels apart."""
    words, x = [], 40
    for text in cells:
        width = char_width * len(text)
        words.append(Word(text, (x, y, x + width, y + height), 0.95))
        x += width + gap
    return words


def by_code(items):
    return {item.code: item for item in items}


@pytest.mark.parametrize(("printed", "code"), [
    ("白细胞计数", "WBC"), ("白细胞记数", "WBC"), ("WBC", "WBC"), ("血红蛋白", "HGB"), ("Hb", "HGB"),
    ("中性粒细胞绝对值", "NEUT#"), ("中性粒细胞百分比", "NEUT%"), ("NEUT#", "NEUT#"), ("NEUT%", "NEUT%"),
    ("谷丙转氨酶", "ALT"), ("ALT(GPT)", "ALT"), ("甘油三酯", "TG"), ("HDL-C", "HDL"), ("糖化血红蛋白", "HBA1C"),
    ("收缩压", "SBP"), ("空腹血糖", "GLU"), ("肌酐", "CREA"),
    # OCR slips: one wrong character in a long name
    ("嗜酸性粒细胞绝对植", "EO#"), ("平均红细胞血红蛋白浓渡", "MCHC"),
])
def test_printed_names_map_to_standard_codes(printed, code):
    assert match_name(printed).code == code


@pytest.mark.parametrize("printed", ["RBO", "项目名称", "参考范围", "姓名", "WB"])
def test_short_or_unrelated_text_is_not_an_indicator(printed):
    assert match_name(printed) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("12.3", (12.3, "")), ("12.3↑", (12.3, "H")), ("0.05↓", (0.05, "L")), ("4.2H", (4.2, "H")),
    ("1O.5", (10.5, "")), ("7,62", (7.62, "")), ("3.45]", (3.45, "")), ("<0.01", (0.01, "")), ("阴性", (None, "")),
])
def test_values_are_parsed_through_ocr_slips(text, expected):
    assert parse_value(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("3.5-9.5", (3.5, 9.5)), ("3.50~9.50", (3.5, 9.5)), ("3.5--9.5", (3.5, 9.5)), ("<5.20", (None, 5.2)),
    (">1.04", (1.04, None)), ("9.5-3.5", None), ("abc", None),
])
def test_reference_ranges_are_parsed(text, expected):
    assert parse_range(text) == expected


@pytest.mark.parametrize(("text", "unit"), [
    ("10^9/L", "10^9/L"), ("10A9/L", "10^9/L"), ("1049/L", "10^9/L"), ("×10⁹/L", "10^9/L"), ("1OA9/L", "10^9/L"),
    ("10^12/L", "10^12/L"), ("g/L", "g/L"), ("G/L", "10^9/L"), ("fl", "fL"), ("umol/L", "µmol/L"), ("mmHg", "mmHg"),
    ("xyz", ""),
])
def test_units_are_normalised(text, unit):
    assert normalise_unit(text) == unit


def test_a_classic_table_gives_values_units_ranges_and_flags():
    # Given: No. | name | result | flag | unit | range
    words = [*row(100, "1", "白细胞计数", "11.20", "↑", "10^9/L", "3.50-9.50"),
             *row(150, "2", "血红蛋白", "128", "g/L", "115-150"),
             *row(200, "3", "血小板计数", "98", "↓", "10^9/L", "125-350")]

    # When
    items = by_code(extract_items(words))

    # Then
    assert (items["WBC"].value, items["WBC"].unit, items["WBC"].range_low, items["WBC"].range_high,
            items["WBC"].flag, items["WBC"].range_source) == (11.2, "10^9/L", 3.5, 9.5, "H", "printed")
    assert (items["HGB"].value, items["HGB"].flag) == (128.0, "N")
    assert (items["PLT"].value, items["PLT"].flag) == (98.0, "L")


def test_two_items_side_by_side_are_both_read():
    words = row(100, "白细胞计数", "5.43", "10^9/L", "3.50-9.50", "中性粒细胞绝对值", "7.15", "↑", "10^9/L", "1.80-6.30")

    items = by_code(extract_items(words))

    assert (items["WBC"].value, items["NEUT#"].value, items["NEUT#"].flag) == (5.43, 7.15, "H")


def test_words_split_into_characters_are_joined_into_cells():
    # Tesseract returns Chinese one character at a time, a few pixels apart.
    words = [Word(char, (40 + 26 * i, 100, 64 + 26 * i, 124), 0.9) for i, char in enumerate("血红蛋白")]
    words += [Word("131", (400, 100, 440, 124), 0.9), Word("g/L", (520, 100, 560, 124), 0.9)]

    assert by_code(extract_items(words))["HGB"].value == 131.0


def test_the_unit_decides_between_count_and_percentage():
    # "NEUT" alone names both NEUT# and NEUT%
    words = [*row(100, "NEUT", "62.5", "%", "40.0-75.0"), *row(150, "NEUT", "4.10", "10^9/L", "1.80-6.30")]

    items = by_code(extract_items(words))

    assert (items["NEUT%"].value, items["NEUT#"].value) == (62.5, 4.1)


def test_without_a_printed_range_the_sex_specific_table_applies():
    words = row(100, "血红蛋白", "125", "g/L")

    man, woman = by_code(extract_items(words, sex="M"))["HGB"], by_code(extract_items(words, sex="F"))["HGB"]

    assert (man.range_low, man.flag, man.range_source) == (130.0, "L", "table")
    assert (woman.range_low, woman.flag) == (115.0, "N")


def test_units_are_converted_to_the_indicators_own():
    words = [*row(100, "红细胞压积", "0.42", "L/L", "0.35-0.45"), *row(150, "空腹血糖", "126", "mg/dL")]

    items = by_code(extract_items(words))

    assert (items["HCT"].value, items["HCT"].unit, items["HCT"].range_low, items["HCT"].range_high) == (
        42.0, "%", 35.0, 45.0)
    assert (items["GLU"].value, items["GLU"].unit, items["GLU"].flag) == (7.0, "mmol/L", "H")


def test_an_unreadable_name_is_recovered_from_its_unit_and_range():
    # The name came out as Latin garbage; 10^9/L with 0.02-0.52 can only be EO#.
    words = row(100, "5", "PEANTE FUIR", "0.04", "0.02-0.52", "10^9/L")

    assert by_code(extract_items(words))["EO#"].value == 0.04


def test_an_arrow_glued_to_the_value_and_misread_as_a_digit_is_undone():
    words = [*row(100, "中性粒细胞绝对值", "7.621", "1.80-6.30", "10^9/L"),
             *row(150, "血小板计数", "207", "125-350", "10^9/L")]

    items = by_code(extract_items(words))

    assert (items["NEUT#"].value, items["NEUT#"].flag) == (7.62, "H")
    assert items["PLT"].value == 207.0  # in range: a real trailing 7 stays


def test_a_page_without_indicators_gives_nothing():
    words = [*row(100, "姓名：张三", "性别：男"), *row(150, "本报告仅对所检测标本负责")]

    assert extract_items(words) == []


def test_a_value_next_to_a_read_arrow_keeps_its_last_digit():
    # "57 ↓": both 57 and 5 are below 60, but the arrow was read in its own column.
    words = row(100, "3", "脉搏", "57", "↓", "次/分", "60-100")

    assert by_code(extract_items(words))["PULSE"].value == 57.0


def test_a_code_column_glued_to_the_result_is_split_back():
    # RapidOCR reads "NEUT#" and "7.62" as one phrase when the code and result columns
    # stand close; the value must still be found, and the printed name keeps no row number.
    words = [*row(100, "2", "中性粒细胞绝对值", "NEUT#7.62", "↑10^9/L", "1.80-6.30"),
             *row(150, "10嗜酸性粒细胞百分比", "EO%1.7", "%", "0.4-8.0"),
             *row(200, "糖化血红蛋白", "HbA1c", "6.5", "%", "4.0-6.0")]

    items = by_code(extract_items(words))

    assert (items["NEUT#"].value, items["NEUT#"].unit, items["NEUT#"].flag) == (7.62, "10^9/L", "H")
    assert (items["EO%"].value, items["EO%"].name) == (1.7, "嗜酸性粒细胞百分比")
    assert items["HBA1C"].value == 6.5  # a code with digits in it stays whole


def test_a_glued_code_does_not_take_a_digit_of_the_value():
    items = by_code(extract_items(row(100, "血小板计数", "PLT77", "10^9/L", "125-350")))

    assert (items["PLT"].value, items["PLT"].flag) == (77.0, "L")


def test_cells_glued_across_two_columns_are_split_back():
    # Two-column reports: the left item's range touches the right item's name, a name
    # touches its result, a unit touches its range.
    words = row(100, "平均红细胞体积", "80.4", "fL", "82.0-100.0平均红细胞血红蛋白含量30.0", "pg", "27.0~34.0")
    words += row(150, "平均红细胞血红蛋白浓度318", "g/L", "316~354", "尿素", "3.06", "mmol/L2.60-7.50")

    items = by_code(extract_items(words))

    assert (items["MCV"].value, items["MCV"].range_low, items["MCV"].flag) == (80.4, 82.0, "L")
    assert (items["MCH"].value, items["MCH"].unit, items["MCH"].range_high) == (30.0, "pg", 34.0)
    assert (items["MCHC"].value, items["MCHC"].range_low) == (318.0, 316.0)
    assert (items["UREA"].value, items["UREA"].unit, items["UREA"].range_low, items["UREA"].range_high) == \
        (3.06, "mmol/L", 2.6, 7.5)
