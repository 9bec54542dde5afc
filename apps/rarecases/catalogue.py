"""Importing the rare-disease catalogue: China's first national list (CCRD, 121
diseases, 144 entries with subtypes), its maps to Orphanet and OMIM, and the Chinese
Orphanet names.

Files read from one folder (the layout of /work/shared/data/rare):

* `conpendium_hpo.json`  {"CCRD:9.1": {"CNS_NAME", "ENG_NAME", "PHENOTYPE_LIST"}}
* `ccrd_to_orpha.json`   {"CCRD:1": [["ORPHA:90794", "E"], ...]}   (E exact, BTNT/NTBT broader/narrower)
* `ccrd_to_omim.json`    {"CCRD:19": [["OMIM:618336", "BTNT"], ...]}
* `cns_orphanet.json`    {"ORPHA:5": {"CNS_NAME", "ENG_NAME"}}
* `icd10.json` (optional) {"CCRD:1": ["E25.0"], "ORPHA:5": [...]}: ICD-10 codes given by hand

None of the files carries ICD-10 codes, which the rarity analysis matches on. They
come from `icd10.json` when present, else from the knowledge graph (PyCMeKG's ICD10
facts, matched on the Chinese name, its aliases and its English name). An Orphanet
entry mapped exactly (E) from a CCRD entry takes that entry's codes too.

Idempotent: a second import with the same files changes nothing; a changed file
updates the rows it changed. One audit event per import.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.exceptions import DomainError
from apps.privacy.services import audit_record

from .icd10 import is_code, normalise_code
from .knowledge import KnowledgeGraph
from .models import RareDisease

CCRD_FILE = "conpendium_hpo.json"
ORPHA_MAP_FILE = "ccrd_to_orpha.json"
OMIM_MAP_FILE = "ccrd_to_omim.json"
ORPHANET_FILE = "cns_orphanet.json"
ICD10_FILE = "icd10.json"
FIELDS = ("name_zh", "name_en", "icd10_codes", "cross_references", "parent_code", "aliases", "phenotypes")


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    with_icd10: int
    icd10_source: str

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _read_json(folder: Path, name: str, *, required: bool = True):
    path = folder / name
    if not path.exists():
        if required:
            raise DomainError(_("%(file)s is missing from %(folder)s.") % {"file": name, "folder": folder},
                              code="catalogue_file_missing")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DomainError(_("%(file)s is not valid JSON: %(error)s") % {"file": name, "error": error},
                          code="catalogue_file_invalid") from None


def _split_names(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;；,，、]", str(text or "")) if part.strip()]


def _mapping(raw, name: str) -> dict[str, list[dict]]:
    if not isinstance(raw, dict):
        raise DomainError(_("%(file)s must map CCRD codes to lists.") % {"file": name}, code="catalogue_file_invalid")
    out = {}
    for ccrd, pairs in raw.items():
        out[ccrd] = [{"code": str(pair[0]), "relation": str(pair[1])} for pair in pairs
                     if isinstance(pair, (list, tuple)) and len(pair) == 2]
    return out


def _ccrd_rows(ccrd: dict, orpha_map: dict, omim_map: dict) -> dict[tuple[str, str], dict]:
    rows = {}
    for code, entry in ccrd.items():
        if not isinstance(entry, dict) or not str(code).startswith("CCRD:"):
            continue
        english = _split_names(entry.get("ENG_NAME", ""))
        number = code.split(":", 1)[1]
        rows[(RareDisease.Source.CCRD, code)] = {
            "name_zh": str(entry.get("CNS_NAME", "")).strip()[:200],
            "name_en": (english[0] if english else "")[:300],
            "aliases": english[1:],
            "phenotypes": [str(p) for p in entry.get("PHENOTYPE_LIST", []) if isinstance(p, str)],
            "parent_code": f"CCRD:{number.split('.')[0]}" if "." in number else "",
            "cross_references": {key: value for key, value in
                                 (("orpha", orpha_map.get(code, [])), ("omim", omim_map.get(code, []))) if value},
            "icd10_codes": [],
        }
    return rows


def _orphanet_rows(orphanet: dict, orpha_map: dict) -> dict[tuple[str, str], dict]:
    mapped_from: dict[str, list[dict]] = {}
    for ccrd, pairs in orpha_map.items():
        for pair in pairs:
            mapped_from.setdefault(pair["code"], []).append({"code": ccrd, "relation": pair["relation"]})
    rows = {}
    for code, entry in orphanet.items():
        if not isinstance(entry, dict) or not str(code).startswith("ORPHA:"):
            continue
        rows[(RareDisease.Source.ORPHANET, code)] = {
            "name_zh": str(entry.get("CNS_NAME", "")).strip()[:200],
            "name_en": str(entry.get("ENG_NAME", "")).strip()[:300],
            "aliases": [], "phenotypes": [], "parent_code": "",
            "cross_references": {"ccrd": mapped_from[code]} if code in mapped_from else {},
            "icd10_codes": [],
        }
    return rows


def _codes(values) -> list[str]:
    codes = [normalise_code(v) for v in values if isinstance(v, str)]
    return sorted({c for c in codes if is_code(c)})


def _attach_icd10(rows: dict, *, given: dict | None, graph: KnowledgeGraph | None) -> str:
    if given is not None:
        for (_source, code), row in rows.items():
            row["icd10_codes"] = _codes(given.get(code, []))
        source = "file"
    elif graph is not None:
        for row in rows.values():
            for name in (row["name_zh"], *_split_names(row["name_zh"]), row["name_en"], *row["aliases"]):
                entry = graph.by_name(name) if name else None
                if entry is not None and entry.icd10_codes:
                    row["icd10_codes"] = _codes(entry.icd10_codes)
                    break
        source = "knowledge_graph"
    else:
        return "none"
    # an Orphanet disease that is exactly a CCRD entry has its codes
    for (source_name, _code), row in rows.items():
        if source_name != RareDisease.Source.ORPHANET or row["icd10_codes"]:
            continue
        for link in row["cross_references"].get("ccrd", []):
            ccrd = rows.get((RareDisease.Source.CCRD, link["code"]))
            if link["relation"] == "E" and ccrd and ccrd["icd10_codes"]:
                row["icd10_codes"] = list(ccrd["icd10_codes"])
    return source


def catalogue_import(*, folder, graph: KnowledgeGraph | None = None, actor=None) -> ImportResult:
    """Create or update the catalogue from `folder`; see the module docstring."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DomainError(_("%(folder)s is not a folder.") % {"folder": folder}, code="catalogue_folder_missing")
    ccrd = _read_json(folder, CCRD_FILE)
    if not isinstance(ccrd, dict) or not ccrd:
        raise DomainError(_("%(file)s holds no CCRD entries.") % {"file": CCRD_FILE}, code="catalogue_file_invalid")
    orpha_map = _mapping(_read_json(folder, ORPHA_MAP_FILE), ORPHA_MAP_FILE)
    omim_map = _mapping(_read_json(folder, OMIM_MAP_FILE), OMIM_MAP_FILE)
    orphanet = _read_json(folder, ORPHANET_FILE)
    if not isinstance(orphanet, dict):
        raise DomainError(_("%(file)s must map ORPHA codes to names.") % {"file": ORPHANET_FILE},
                          code="catalogue_file_invalid")
    given = _read_json(folder, ICD10_FILE, required=False)
    if given is not None and not isinstance(given, dict):
        raise DomainError(_("%(file)s must map catalogue codes to ICD-10 code lists.") % {"file": ICD10_FILE},
                          code="catalogue_file_invalid")
    rows = {**_ccrd_rows(ccrd, orpha_map, omim_map), **_orphanet_rows(orphanet, orpha_map)}
    icd10_source = _attach_icd10(rows, given=given, graph=graph)

    created = updated = 0
    with transaction.atomic():
        existing = {(d.source, d.code): d for d in RareDisease.objects.select_for_update()}
        new, changed = [], []
        for key, values in rows.items():
            current = existing.get(key)
            if current is None:
                new.append(RareDisease(source=key[0], code=key[1], **values))
            elif any(getattr(current, field) != values[field] for field in FIELDS):
                for field in FIELDS:
                    setattr(current, field, values[field])
                changed.append(current)
        RareDisease.objects.bulk_create(new, batch_size=1000)
        RareDisease.objects.bulk_update(changed, FIELDS, batch_size=500)
        created, updated = len(new), len(changed)
        result = ImportResult(created=created, updated=updated, unchanged=len(rows) - created - updated,
                              with_icd10=sum(1 for row in rows.values() if row["icd10_codes"]),
                              icd10_source=icd10_source)
        audit_record(action="rarecases.catalogue_import", actor=actor, hospital_id=None, object_type="catalogue",
                     detail={"folder": folder.name, **result.as_dict()})
    return result
