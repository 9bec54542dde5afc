"""Random lab-report-like strings: names, values, units, ranges, flags, header fields,
dates, codes, plain Chinese text, and short runs of several table cells."""

from __future__ import annotations

from functools import lru_cache
import numpy as np

from ml.ocr.crnn import vocab
from ml.ocr.crnn.charset import Codec, jieba_dictionary

_LATIN_CODES = vocab.CBC_CODES + vocab.PANEL_CODES
_HEADER_FIELDS = ("姓名", "性别", "年龄", "科室", "病历号", "住院号", "门诊号", "样本号", "标本号", "床号", "样本类型",
                  "送检医生", "申请医生", "临床诊断", "采集时间", "接收时间", "报告时间", "检验者", "审核者", "条码号")


@lru_cache(maxsize=1)
def _jieba_words() -> tuple[list[str], np.ndarray]:
    entries = [(word, weight) for word, weight in jieba_dictionary() if all("\u4e00" <= c <= "\u9fff" for c in word)]
    words = [word for word, _ in entries]
    # Square root flattens the Zipf curve so rarer characters are seen too.
    p = np.sqrt(np.array([weight for _, weight in entries], dtype=float))
    return words, p / p.sum()


def _number(rng: np.random.Generator) -> str:
    decimals = int(rng.choice([0, 1, 2, 3], p=[0.25, 0.35, 0.33, 0.07]))
    magnitude = rng.choice([1, 10, 100, 1000, 10000], p=[0.35, 0.3, 0.22, 0.1, 0.03])
    value = rng.uniform(0, magnitude)
    return f"{value:.{decimals}f}"


def _value(rng: np.random.Generator) -> str:
    text = _number(rng)
    roll = rng.random()
    if roll < 0.08:
        text = rng.choice(["<", ">", "≤", "≥", "＜", "＞"]) + text
    elif roll < 0.25:
        text += rng.choice(["↑", "↓", " ↑", " ↓", " H", " L", "H", "L", " *"])
    return text


def _range(rng: np.random.Generator) -> str:
    decimals = int(rng.choice([0, 1, 2], p=[0.3, 0.4, 0.3]))
    low = rng.uniform(0, 200) * rng.choice([0.01, 0.1, 1.0])
    high = low + rng.uniform(0.1, 300) * rng.choice([0.01, 0.1, 1.0])
    lo, hi = f"{low:.{decimals}f}", f"{high:.{decimals}f}"
    style = rng.random()
    if style < 0.55:
        text = f"{lo}{rng.choice(['-', '-', '--', '~', ' - ', '—', '～'])}{hi}"
    elif style < 0.75:
        text = f"{rng.choice(['<', '>', '≤', '≥', '＜'])}{hi}"
    else:
        text = f"{lo}-{hi}"
    if rng.random() < 0.15:
        text = rng.choice(["(", "[", "（"]) + text + rng.choice([")", "]", "）"])
    return text


def _name(rng: np.random.Generator) -> str:
    if rng.random() < 0.5:
        name = str(rng.choice(vocab.CBC_NAMES))
        code = str(rng.choice(vocab.CBC_CODES))
    else:
        index = int(rng.integers(len(vocab.PANEL_ITEMS)))
        name, code, _unit = vocab.PANEL_ITEMS[index]
    roll = rng.random()
    if roll < 0.6:
        return name
    if roll < 0.75:
        return f"{name}({code})" if rng.random() < 0.6 else f"{name}（{code}）"
    if roll < 0.85:
        return f"{code} {name}" if rng.random() < 0.5 else f"*{name}"
    return code


def _person(rng: np.random.Generator) -> str:
    return str(rng.choice(list(vocab.SURNAMES))) + "".join(rng.choice(list(vocab.GIVEN), size=int(rng.integers(1, 3))))


def _date(rng: np.random.Generator) -> str:
    y, m, d = int(rng.integers(2015, 2031)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    hh, mm, ss = int(rng.integers(0, 24)), int(rng.integers(0, 60)), int(rng.integers(0, 60))
    style = rng.random()
    if style < 0.5:
        return f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}" + (f":{ss:02d}" if rng.random() < 0.3 else "")
    if style < 0.7:
        return f"{y}-{m:02d}-{d:02d}"
    if style < 0.85:
        return f"{y}/{m:02d}/{d:02d} {hh:02d}:{mm:02d}"
    return f"{y}年{m}月{d}日"


def _header(rng: np.random.Generator) -> str:
    label = str(rng.choice(_HEADER_FIELDS))
    if label in ("姓名", "检验者", "审核者"):
        value = _person(rng) if label == "姓名" else str(rng.choice(list(vocab.SURNAMES))) + rng.choice(["某", "", "医生"])
    elif label == "性别":
        value = str(rng.choice(["男", "女"]))
    elif label == "年龄":
        value = f"{int(rng.integers(0, 100))}" + str(rng.choice(["岁", "岁", "", "月", "天"]))
    elif label.endswith("时间"):
        value = _date(rng)
    elif label.endswith("医生"):
        value = str(rng.choice(list(vocab.SURNAMES))) + str(rng.choice(["医生", "某", ""]))
    elif label in ("科室", "样本类型", "临床诊断"):
        value = str(rng.choice(vocab.LABELS))
    else:
        value = str(int(rng.integers(1, 10 ** int(rng.integers(2, 11)))))
    return f"{label}{rng.choice(['：', ':', '： '])}{value}"


def _chinese(rng: np.random.Generator) -> str:
    words, p = _jieba_words()
    count = int(rng.integers(1, 6))
    picks = rng.choice(len(words), size=count, p=p)
    text = "".join(words[i] for i in picks)
    return text[: int(rng.integers(2, 14))]


def _latin(rng: np.random.Generator) -> str:
    if rng.random() < 0.5:
        return str(rng.choice(_LATIN_CODES))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789#%-/().,:+*"
    return "".join(rng.choice(list(alphabet), size=int(rng.integers(2, 10))))


def _cell(rng: np.random.Generator) -> str:
    kind = rng.choice(["name", "value", "unit", "range", "flag"], p=[0.3, 0.3, 0.15, 0.2, 0.05])
    return {"name": _name, "value": _value, "unit": lambda r: str(r.choice(vocab.UNITS)), "range": _range,
            "flag": lambda r: str(r.choice(vocab.FLAGS))}[kind](rng)


class TextSampler:
    """Draws one string per call; `uniform` lines make sure every charset character is seen."""

    KINDS = ("name", "value", "range", "unit", "flag", "header", "date", "chinese", "uniform", "latin", "row", "label", "index")
    WEIGHTS = (0.15, 0.17, 0.10, 0.07, 0.03, 0.08, 0.04, 0.12, 0.05, 0.04, 0.07, 0.05, 0.03)

    def __init__(self, codec: Codec):
        self.codec = codec
        self.cjk = [c for c in codec.chars if "\u4e00" <= c <= "\u9fff"]
        self.printable = [c for c in codec.chars if c != " "]

    def __call__(self, rng: np.random.Generator, rare_share: float = 1.0) -> str:
        """`rare_share` scales the share of plain-Chinese and uniform-character lines."""
        weights = np.array(self.WEIGHTS)
        for index, kind in enumerate(self.KINDS):
            if kind in ("chinese", "uniform"):
                weights[index] *= rare_share
        weights /= weights.sum()
        for _ in range(10):
            text = self._draw(rng, weights)
            if text.strip() and self.codec.covers(text):
                return text
        return _number(rng)

    def _draw(self, rng: np.random.Generator, weights: np.ndarray) -> str:
        kind = rng.choice(self.KINDS, p=weights)
        if kind == "name":
            return _name(rng)
        if kind == "value":
            return _value(rng)
        if kind == "range":
            return _range(rng)
        if kind == "unit":
            return str(rng.choice(vocab.UNITS))
        if kind == "flag":
            return str(rng.choice(vocab.FLAGS))
        if kind == "header":
            return _header(rng)
        if kind == "date":
            return _date(rng)
        if kind == "chinese":
            return _chinese(rng)
        if kind == "uniform":
            pool = self.cjk if rng.random() < 0.8 else self.printable
            return "".join(rng.choice(pool, size=int(rng.integers(1, 9))))
        if kind == "latin":
            return _latin(rng)
        if kind == "label":
            return str(rng.choice(vocab.LABELS))[:16]
        if kind == "index":
            return str(int(rng.integers(1, 40)))
        cells = [_cell(rng) for _ in range(int(rng.integers(2, 4)))]
        return " ".join(cells)
