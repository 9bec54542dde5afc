"""Tags for tips: jieba segmentation with the medical dictionary (medical_terms.tsv)
finds diseases, drugs and lab indicators in a tip's title and text, and maps each
term to a canonical tag ("中风" and "脑卒中" are both 脑卒中).

The same dictionary maps ICD-10 codes to disease tags, lab indicator codes (HGB,
GLU, ALT) to indicator tags and drugs to the diseases they treat; the recommendation
signal providers use it to turn a patient's data into tags.
"""

import html
import logging
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jieba
import nh3

DICTIONARY = Path(__file__).with_name("medical_terms.tsv")
_lock = threading.Lock()
jieba.setLogLevel(logging.WARNING)


@dataclass(frozen=True)
class Term:
    term: str
    kind: str  # disease, drug, indicator
    tag: str
    codes: tuple[str, ...]


@cache
def terms() -> dict[str, Term]:
    entries = {}
    for line in DICTIONARY.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        term, kind, tag, codes = (line.split("\t") + [""] * 4)[:4]
        entries[term] = Term(term, kind, tag, tuple(code for code in codes.split(",") if code))
    return entries


_tokenizer = None


def tokenizer() -> jieba.Tokenizer:
    """One jieba tokenizer per process with the medical terms added (loading jieba's
    own dictionary takes about a second, so it is done once)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                instance = jieba.Tokenizer()
                instance.initialize()
                for term in terms():
                    instance.add_word(term, freq=200_000)
                _tokenizer = instance
    return _tokenizer


def plain_text(body_html: str) -> str:
    return html.unescape(nh3.clean(body_html, tags=set()))


def terms_in(text: str) -> list[Term]:
    """Dictionary terms jieba finds in `text`, in order of appearance."""
    dictionary = terms()
    return [term for word in tokenizer().lcut(text) if (term := dictionary.get(word) or dictionary.get(word.upper()))]


def tags_in(text: str) -> list[dict]:
    """Canonical tags found in `text`, in order of first appearance."""
    found, seen = [], set()
    for term in terms_in(text):
        if term.tag not in seen:
            seen.add(term.tag)
            found.append({"tag": term.tag, "kind": term.kind})
    return found


def tip_tags(*, title: str, body_html: str) -> list[dict]:
    return tags_in(f"{title}\n{plain_text(body_html)}")


def tags_for_icd10(code: str) -> list[str]:
    """Disease tags for an ICD-10 code, by its longest listed prefix (E11.9 -> 糖尿病)."""
    code = code.strip().upper().replace(".", "")
    best, best_length = [], 0
    for term in terms().values():
        if term.kind != "disease":
            continue
        for prefix in term.codes:
            if code.startswith(prefix) and len(prefix) >= best_length:
                if len(prefix) > best_length:
                    best, best_length = [], len(prefix)
                if term.tag not in best:
                    best.append(term.tag)
    return best


def tags_for_indicator(code: str) -> list[str]:
    """Indicator tags for a lab code (HGB -> 血红蛋白)."""
    code = code.strip().upper()
    return sorted({term.tag for term in terms().values() if term.kind == "indicator" and code in term.codes})


def tags_for_drug(name: str) -> list[str]:
    """The drug's own tag and the disease tags it treats, from the drug name."""
    result = []
    for term in terms_in(name):
        if term.kind == "drug":
            result += [tag for tag in (term.tag, *term.codes) if tag not in result]
    return result
