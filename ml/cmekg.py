"""Reading the PyCMeKG knowledge graph (MIT) safely; shared by the NER lexicon
(ml/ner/knowledge.py) and the rare-case registry (apps/rarecases/knowledge.py).

PyCMeKG ships its graph as a pickle, and unpickling runs whatever the file names.
`RestrictedUnpickler` admits only plain built-in containers and scalars, so a
tampered file fails to load instead of executing code. No Django here.
"""

import io
import pickle
from pathlib import Path

ALLOWED_BUILTINS = frozenset({"dict", "list", "tuple", "set", "frozenset", "str", "bytes", "int", "float", "bool",
                              "complex", "NoneType"})
# predicates that only disease entries carry
DISEASE_MARKERS = ("ICD10", "常见症状", "并发症", "就诊科室", "临床症状及体征")


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "builtins" and name in ALLOWED_BUILTINS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"the knowledge graph may hold only plain built-in types, not {module}.{name}")


def restricted_loads(data: bytes):
    return RestrictedUnpickler(io.BytesIO(data)).load()


def package_graph_path() -> Path | None:
    """The graph file of the installed PyCMeKG package (requirements/ml.txt pins it)."""
    try:
        import pyCMeKG
    except ImportError:
        return None
    return Path(pyCMeKG.__file__).parent / "model" / "cmekg.pkl"
