"""A typed medical lexicon from the PyCMeKG knowledge graph (MIT licence, so the
lexicon may ship inside a model artifact, with attribution in its card).

PyCMeKG ships its graph as a pickle, read with `ml.cmekg.restricted_loads` (plain
built-in types only, as for the rare-case registry), so a tampered file fails to load
instead of running code. No Django here: ml/ stays framework-free.

Subjects and relation objects are mapped to lexicon types of their own (prefix
K, so they never mix with the CCKS-typed lexicons); the model learns how much
each one is worth for each CCKS type:

  KDIS  disease subjects and their aliases, complications, related diseases
  KSYM  symptoms and signs (not a CCKS type: tells the model what is NOT a disease)
  KDRU  drug subjects, generic and trade names, ingredients, drugs of treatments,
        and the same names without the dosage form ("…缓释片" -> "…")
  KOPE  surgical treatments and operations ("…术")
  KLAB  laboratory tests; KIMA imaging exams (CT, MRI, ultrasound, X-ray, …);
  KEXA  other examinations; KANA body sites (sites of disease, of metastasis)
"""

import re
from pathlib import Path

from ml.cmekg import DISEASE_MARKERS, package_graph_path, restricted_loads

from .features import MAX_WORD, Lexicon, normalise

TYPES = ["KDIS", "KSYM", "KDRU", "KOPE", "KLAB", "KIMA", "KEXA", "KANA"]
DRUG_MARKERS = ("成份", "不良反应", "适应症", "药品类型", "OTC类型", "用法用量", "主治", "功能主治", "通用名")
IMAGING = re.compile(r"ct|mri|mr[ai]|磁共振|核磁|b超|超声|彩超|x线|x光|平片|造影|摄片|pet|ect|钼靶|胸片|显像|成像|扫描|dsa|断层")
LAB_GROUPS = ("血", "免疫学", "生化检查", "尿", "病原体", "脑脊液", "便", "内分泌", "肾功能", "肝功能检查", "浆膜腔积液aaa",
              "阴道分泌物", "痰", "肿瘤标志物", "精液和前列腺液", "DNA")
DOSAGE_FORMS = sorted(["片", "胶囊", "注射液", "颗粒", "口服液", "口服溶液", "乳膏", "软膏", "滴眼液", "滴鼻液", "喷雾剂", "气雾剂",
                       "栓", "丸", "散", "糖浆", "混悬液", "干混悬剂", "粉针剂", "冻干粉针剂", "注射剂", "缓释片", "缓释胶囊",
                       "控释片", "肠溶片", "肠溶胶囊", "分散片", "咀嚼片", "泡腾片", "含片", "凝胶", "贴剂", "溶液", "输液",
                       "葡萄糖注射液", "氯化钠注射液", "滴丸", "软胶囊", "片剂", "针剂", "混悬剂", "口腔崩解片"], key=len, reverse=True)
_BRACKETS = re.compile(r"[（(][^）)]*[）)]")
_BAD = re.compile(r"[，,、；;：:。？?！!“”\"…/]|以下|包括|等|可能|或")


def load_graph(path: str | Path | None = None) -> dict:
    path = path or package_graph_path()
    if path is None:
        raise FileNotFoundError("PyCMeKG is not installed; pass the graph file's path")
    graph = restricted_loads(Path(path).read_bytes())
    if not isinstance(graph, dict):
        raise ValueError("the knowledge graph file does not hold a dictionary of subjects")
    return graph


def _values(facts: dict, *predicates) -> list[str]:
    out = []
    for p in predicates:
        value = facts.get(p)
        if isinstance(value, list):
            out += [v for v in value if isinstance(v, str)]
    return out


def _clean(word: str) -> str | None:
    word = normalise(_BRACKETS.sub("", word)).strip()
    if not 2 <= len(word) <= MAX_WORD or _BAD.search(word) or word.isdigit():
        return None
    return word


def _drug_base(word: str) -> str | None:
    base = word[3:] if word.startswith("注射用") else word
    for form in DOSAGE_FORMS:
        if base.endswith(form) and len(base) - len(form) >= 2:
            base = base[: -len(form)]
            break
    return base if base != word and len(base) >= 2 else None


def lexicon_words(graph: dict) -> dict[str, set[str]]:
    words: dict[str, set[str]] = {}

    def add(kind: str, names):
        for name in names:
            word = _clean(name)
            if word:
                words.setdefault(word, set()).add(kind)
                if kind == "KDRU":
                    base = _drug_base(word)
                    if base:
                        words.setdefault(base, set()).add(kind)

    def add_exam(names, default: str):
        for name in names:
            word = _clean(name)
            if word:
                words.setdefault(word, set()).add("KIMA" if IMAGING.search(word) else default)

    for subject, facts in graph.items():
        if not isinstance(subject, str) or not isinstance(facts, dict):
            continue
        if any(m in facts for m in DISEASE_MARKERS):
            add("KDIS", [subject] + _values(facts, "别称", "又称", "同义词"))
        elif any(m in facts for m in DRUG_MARKERS) and "界" not in facts:
            add("KDRU", [subject] + _values(facts, "通用名", "商品名"))
        elif "所属分类" in facts:  # an examination entry
            groups = _values(facts, "所属分类")
            add_exam([subject], "KLAB" if any(g in LAB_GROUPS for g in groups) else "KEXA")
        elif "手术_手术方式" in facts or "标准住院时间" in facts:  # a clinical pathway entry: a disease
            add("KDIS", [subject])
        add("KDIS", _values(facts, "并发症", "相关疾病", "上位关系"))
        add("KSYM", _values(facts, "常见症状", "临床症状及体征", "相关症状"))
        add("KDRU", _values(facts, "相关药物", "药物治疗", "成份", "手术_术中用药"))
        add("KOPE", _values(facts, "手术治疗", "手术_手术方式"))
        add("KOPE", [v for v in _values(facts, "治疗") if v.endswith("术")])
        add("KANA", _values(facts, "常见发病部位", "发病部位", "转移部位", "外侵部位"))
        add_exam(_values(facts, "实验室检查", "住院必检项目", "术前准备_必检项目", "诊断依据_实验室检查"), "KLAB")
        add_exam(_values(facts, "影像学检查"), "KIMA")
        add_exam(_values(facts, "检查", "辅助检查", "组织学检查", "内窥镜检查", "筛查"), "KEXA")
    return words


LICENSE_NAME = "LICENSE-PyCMeKG.txt"


def write_license(out: Path) -> None:
    """The MIT licence asks for its notice in every copy of a substantial portion:
    an artifact holding the lexicon carries the installed package's LICENSE."""
    from importlib import metadata

    try:
        files = metadata.distribution("PyCMeKG").files or []
        text = next(f.read_text() for f in files if f.name.upper().startswith("LICENSE"))
    except (metadata.PackageNotFoundError, StopIteration):
        text = "MIT License\n\nCopyright (c) 2018-2019 cmekg authors (PyCMeKG, https://github.com/king-yyf/PyCMeKG)\n"
    header = "The lexicon in vocab.json (types K*) is derived from the PyCMeKG knowledge graph, under this licence:\n\n"
    (Path(out) / LICENSE_NAME).write_text(header + text, encoding="utf-8")


def cmekg_lexicon(path: str | Path | None = None) -> Lexicon:
    return Lexicon(lexicon_words(load_graph(path)), TYPES)
