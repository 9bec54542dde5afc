"""jieba segmentation with our medical dictionary (data/medical_dict.tsv).

Two uses:
- `code_for_name(printed_name)`: when extraction could not give an item a known code,
  segment the printed name and map its words to a code ("中性粒细胞 计数" -> NEUT#,
  "血红蛋白(HGB)" -> HGB). Longest dictionary word first, so "平均红细胞血红蛋白浓度"
  stays one word (MCHC) instead of "红细胞" + "血红蛋白".
- `medical_tokens(text)`: the dictionary words in a statement, the text features of the
  conclusion model (ml/labreport/conclusion).

A private jieba.Tokenizer holds the dictionary so other users of jieba are unaffected;
it is built once per process, on first use.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from pathlib import Path

DICTIONARY_PATH = Path(__file__).with_name("data") / "medical_dict.tsv"
_FAMILIES = {"NEUT", "LYMPH", "MONO", "EO", "BASO"}
# abbreviations as printed (English), upper-cased; families take % or # after them
_ABBREVIATIONS = {
    "WBC": "WBC", "RBC": "RBC", "HGB": "HGB", "HB": "HGB", "HCT": "HCT", "MCV": "MCV", "MCH": "MCH",
    "MCHC": "MCHC", "RDW": "RDW", "RDWCV": "RDW", "PLT": "PLT", "PCT": "PCT", "PDW": "PDW", "MPV": "MPV",
    "NEUT": "NEUT", "NEU": "NEUT", "LYMPH": "LYMPH", "LYM": "LYMPH", "MONO": "MONO", "MON": "MONO",
    "EO": "EO", "EOS": "EO", "BASO": "BASO", "BAS": "BASO", "SBP": "SBP", "DBP": "DBP", "GLU": "GLU",
    "FPG": "GLU", "HBA1C": "HBA1C", "ALT": "ALT", "GPT": "ALT", "AST": "AST", "GOT": "AST",
    "TBIL": "TBIL", "CREA": "CREA", "CR": "CREA", "SCR": "CREA", "UREA": "UREA", "BUN": "UREA",
    "UA": "UA", "TC": "TC", "CHOL": "TC", "TG": "TG", "HDL": "HDL", "LDL": "LDL",
}
_QUALIFIER_SYMBOLS = {"%": "%", "％": "%", "#": "#", "＃": "#"}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _dictionary() -> tuple[dict[str, str], dict[str, str]]:
    """(word -> tag, word -> code or qualifier)"""
    tags, codes = {}, {}
    for line in DICTIONARY_PATH.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, tag, *code = line.split("\t")
        tags[word] = tag
        if code:
            codes[word] = code[0]
    return tags, codes


@lru_cache(maxsize=1)
def _tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tags, _codes = _dictionary()
    with _lock:
        for word, tag in tags.items():
            # a high frequency so the whole medical term wins over its pieces
            tokenizer.add_word(word, freq=50_000 + 1_000 * len(word), tag=tag)
    return tokenizer


def segment(text: str) -> list[str]:
    return [token for token in _tokenizer().lcut(text, HMM=False) if token.strip()]


def medical_tokens(text: str) -> list[str]:
    """The medical-dictionary words of a text, in order (duplicates kept)."""
    # numbers never form part of a dictionary word; masking them lets the templated
    # statements of many reports share one cached segmentation
    return list(_medical_tokens(_NUMBER.sub("0", text)))


@lru_cache(maxsize=8192)
def _medical_tokens(text: str) -> tuple[str, ...]:
    tags, _codes = _dictionary()
    return tuple(token for token in segment(text) if token in tags)


def code_for_name(name: str) -> str | None:
    """Map a printed item name to a standard code, or None when the words do not say."""
    _tags, codes = _dictionary()
    found, qualifier = None, None
    for token in segment(name.replace("（", "(").replace("）", ")")):
        upper = re.sub(r"[^0-9A-Za-z]", "", token).upper()
        if token in _QUALIFIER_SYMBOLS:
            qualifier = qualifier or _QUALIFIER_SYMBOLS[token]
        elif codes.get(token) in ("%", "#"):
            qualifier = qualifier or codes[token]
        elif found is None and token in codes:
            found = codes[token]
        elif found is None and upper in _ABBREVIATIONS:
            found = _ABBREVIATIONS[upper]
    if found in _FAMILIES:
        return f"{found}{qualifier}" if qualifier else None
    return found
