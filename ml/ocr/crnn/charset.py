"""The characters the recogniser reads, and how printed text maps onto them.

Index 0 is the CTC blank; character i of the charset file is class i + 1. The file holds
one character per line (a line with a single space is the space).

Labels are normalised before training and the model reads the normalised form: full-width
ASCII (`：（）１２`) becomes ASCII, the micro sign becomes Greek mu, the ideographic space a
space, and runs of spaces one space. On a printed page these pairs differ by spacing only,
so keeping both would make the model guess; downstream extraction sees one spelling.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ml.ocr.crnn.vocab import vocabulary_text

ASCII = "".join(chr(code) for code in range(0x20, 0x7F))
SYMBOLS = (
    "↑↓←→×÷±μ°℃‰·…≤≥≠≈αβγδΩ※★☆√∶、。《》【】「」“”‘’"
    "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻₀₁₂₃"
)
COMMON_CJK_COUNT = 3500

_TRANSLATE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}  # full-width ASCII -> ASCII
_TRANSLATE.update({0x3000: 0x20, 0x00B5: 0x03BC, 0x2014: 0x2D, 0x2013: 0x2D, 0x2212: 0x2D, 0xFE63: 0x2D})
_SPACES = re.compile(r" {2,}")


def normalise(text: str) -> str:
    return _SPACES.sub(" ", text.translate(_TRANSLATE)).strip()


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def jieba_dictionary() -> list[tuple[str, int]]:
    """(word, corpus frequency) for every entry of the dictionary shipped with jieba."""
    import jieba

    entries = []
    with Path(jieba.__file__).with_name("dict.txt").open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2:
                entries.append((parts[0], int(parts[1])))
    return entries


def common_cjk_from_jieba(count: int = COMMON_CJK_COUNT) -> list[str]:
    """The `count` most frequent CJK characters, crediting each word's frequency to its
    characters."""
    frequency: Counter[str] = Counter()
    for word, weight in jieba_dictionary():
        for char in word:
            if _is_cjk(char):
                frequency[char] += weight
    return [char for char, _ in frequency.most_common(count)]


def build_charset() -> list[str]:
    chars: list[str] = []
    seen: set[str] = set()
    for char in ASCII + SYMBOLS + normalise(vocabulary_text()) + "".join(common_cjk_from_jieba()):
        if char not in seen:
            seen.add(char)
            chars.append(char)
    return chars


def save_charset(chars: list[str], path: str | Path) -> None:
    Path(path).write_text("\n".join(chars) + "\n", encoding="utf-8")


def load_charset(path: str | Path) -> list[str]:
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    return [line for line in lines if line != ""]


class Codec:
    """Text <-> class ids for one charset (0 is the CTC blank)."""

    def __init__(self, chars: list[str]):
        self.chars = list(chars)
        self.index = {char: i + 1 for i, char in enumerate(self.chars)}

    @property
    def num_classes(self) -> int:
        return len(self.chars) + 1

    def encode(self, text: str) -> list[int]:
        return [self.index[char] for char in normalise(text) if char in self.index]

    def decode(self, ids) -> str:
        return "".join(self.chars[i - 1] for i in ids if 0 < i <= len(self.chars))

    def covers(self, text: str) -> bool:
        return all(char in self.index for char in normalise(text))
