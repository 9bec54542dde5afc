"""The Chinese medical knowledge graph (PyCMeKG, MIT): disease entries with their
symptoms, departments, complications, examinations, treatments and ICD-10 codes.

PyCMeKG ships its graph as a pickle, read with `ml.cmekg.restricted_loads` (plain
built-in types only: a tampered file fails to load instead of running code). The
graph is loaded once per
process and reduced to its disease entries (about 6,000 of 27,403 subjects; the rest
are drugs and herbs), which also frees the 160 MB the full graph takes.

The file comes from the installed package (requirements/ml.txt pins it); the
`RARECASES_KNOWLEDGE_GRAPH_PATH` setting points elsewhere (tests use a small one).
"""

import functools
import logging
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from ml.cmekg import DISEASE_MARKERS, package_graph_path, restricted_loads

from .icd10 import normalise_code

logger = logging.getLogger(__name__)

# predicates kept for a disease entry, in the order the case page shows them
PREDICATES = ("ICD10", "别称", "英文名称", "就诊科室", "常见症状", "临床症状及体征", "并发症", "相关疾病", "检查",
              "实验室检查", "影像学检查", "治疗", "药物治疗", "常见病因", "多发群体", "常见发病部位", "上位关系")


class KnowledgeGraphUnavailable(Exception):
    pass


def default_path() -> Path | None:
    configured = getattr(settings, "RARECASES_KNOWLEDGE_GRAPH_PATH", None)
    if configured:
        return Path(configured)
    return package_graph_path()


def _key(name: str) -> str:
    """Names compare without spaces, brackets' content or case: "Alport 综合征" = "alport综合征"."""
    name = re.sub(r"[（(][^）)]*[）)]", "", str(name))
    return re.sub(r"[\s·'’\-]+", "", name).lower()


@dataclass(frozen=True)
class KnowledgeEntry:
    subject: str
    facts: dict  # predicate -> list[str]

    @property
    def icd10_codes(self) -> list[str]:
        return [normalise_code(code) for code in self.facts.get("ICD10", [])]

    def as_dict(self) -> dict:
        return {"subject": self.subject, "facts": self.facts}


class KnowledgeGraph:
    def __init__(self, raw: dict, *, source: str = ""):
        if not isinstance(raw, dict):
            raise KnowledgeGraphUnavailable("the knowledge graph file does not hold a dictionary of subjects")
        self.source = source
        self.entries: dict[str, KnowledgeEntry] = {}
        for subject, facts in raw.items():
            if not isinstance(subject, str) or not isinstance(facts, dict):
                continue
            if not any(marker in facts for marker in DISEASE_MARKERS):
                continue
            kept = {p: [str(v) for v in facts[p] if isinstance(v, str)][:30] for p in PREDICATES
                    if isinstance(facts.get(p), list)}
            self.entries[subject] = KnowledgeEntry(subject, kept)
        self._by_name: dict[str, str] = {}
        self._by_code: dict[str, list[str]] = {}
        for subject, entry in self.entries.items():
            for name in (subject, *entry.facts.get("别称", []), *entry.facts.get("英文名称", [])):
                self._by_name.setdefault(_key(name), subject)
            for code in entry.icd10_codes:
                self._by_code.setdefault(code, []).append(subject)

    def __len__(self):
        return len(self.entries)

    def by_name(self, name: str) -> KnowledgeEntry | None:
        subject = self._by_name.get(_key(name))
        return self.entries[subject] if subject else None

    def by_code(self, code: str) -> list[KnowledgeEntry]:
        """Entries with exactly this ICD-10 code, else with its category (E75.2 -> E75)."""
        code = normalise_code(code)
        subjects = self._by_code.get(code) or self._by_code.get(code[:3], [])
        return [self.entries[s] for s in subjects]

    def related(self, *, codes=(), names=(), limit: int = 10) -> list[KnowledgeEntry]:
        """Entries for the case's codes first, then for names (diagnosis text, entities)."""
        found: dict[str, KnowledgeEntry] = {}
        for code in codes:
            for entry in self.by_code(code):
                found.setdefault(entry.subject, entry)
        for name in names:
            entry = self.by_name(name)
            if entry is not None:
                found.setdefault(entry.subject, entry)
        return list(found.values())[:limit]


def load_knowledge_graph(path: Path) -> KnowledgeGraph:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise KnowledgeGraphUnavailable(f"cannot read {path}: {error}") from None
    try:
        raw = restricted_loads(data)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise KnowledgeGraphUnavailable(f"{path} is not a plain knowledge-graph pickle: {error}") from None
    return KnowledgeGraph(raw, source=str(path))


@functools.lru_cache(maxsize=2)
def _cached(path: str) -> KnowledgeGraph:
    graph = load_knowledge_graph(Path(path))
    logger.info("loaded knowledge graph %s: %d disease entries", path, len(graph))
    return graph


def knowledge_graph() -> KnowledgeGraph | None:
    """The process's graph, loaded once; None when PyCMeKG is not installed."""
    path = default_path()
    if path is None:
        return None
    try:
        return _cached(str(path))
    except KnowledgeGraphUnavailable:
        logger.exception("knowledge graph unavailable")
        return None
