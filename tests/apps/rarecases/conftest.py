import datetime
import json
import pickle
import tempfile
from pathlib import Path

import pytest
from django.utils import timezone

from apps.patients.services import diagnosis_add, encounter_create, patient_create
from apps.tenancy.context import tenant_context

# A tiny rare-disease catalogue written for these tests in the layout of the national
# list's files (real disease names; nothing is taken from ../shared/data). Written to a
# temporary folder once per test run, as the import command reads a folder.
CATALOGUE_FILES = {
    "conpendium_hpo.json": {
        "CCRD:9": {"CNS_NAME": "自身免疫性脑炎", "ENG_NAME": "Autoimmune encephalitis; AE", "PHENOTYPE_LIST": ["HP:0002383"]},
        "CCRD:9.1": {"CNS_NAME": "抗 NMDAR 脑炎", "ENG_NAME": "Anti-NMDAR encephalitis",
                     "PHENOTYPE_LIST": ["HP:0003781", "HP:0001251"]},
        "CCRD:31": {"CNS_NAME": "戈谢病", "ENG_NAME": "Gaucher disease; GD", "PHENOTYPE_LIST": ["HP:0001744", "HP:0002240"]},
        "CCRD:36": {"CNS_NAME": "血友病", "ENG_NAME": "Hemophilia", "PHENOTYPE_LIST": ["HP:0003010"]},
    },
    "ccrd_to_orpha.json": {"CCRD:9": [["ORPHA:163908", "BTNT"]], "CCRD:9.1": [], "CCRD:31": [["ORPHA:355", "E"]],
                           "CCRD:36": [["ORPHA:448", "E"], ["ORPHA:98878", "BTNT"]]},
    "ccrd_to_omim.json": {"CCRD:31": [["OMIM:230800", "BTNT"], ["OMIM:230900", "BTNT"]]},
    "cns_orphanet.json": {
        "ORPHA:355": {"CNS_NAME": "戈谢病", "ENG_NAME": "Gaucher disease"},
        "ORPHA:448": {"CNS_NAME": "血友病", "ENG_NAME": "Hemophilia"},
        "ORPHA:98878": {"CNS_NAME": "血友病A", "ENG_NAME": "Hemophilia A"},
        "ORPHA:163908": {"CNS_NAME": "自身免疫性脑炎", "ENG_NAME": "Autoimmune encephalitis"},
        "ORPHA:558": {"CNS_NAME": "马方综合征", "ENG_NAME": "Marfan syndrome"},
    },
}


def _write_catalogue() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="rare-catalogue-"))
    for name, content in CATALOGUE_FILES.items():
        (folder / name).write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return folder


FIXTURES = _write_catalogue()

# A small knowledge graph in PyCMeKG's shape (subject -> predicate -> [objects]).
KNOWLEDGE = {
    "戈谢病": {"ICD10": ["E75.2"], "别称": ["葡糖脑苷脂病"], "常见症状": ["肝脾肿大", "贫血", "骨痛"],
              "就诊科室": ["血液内科"], "治疗": ["酶替代治疗"]},
    "血友病": {"ICD10": ["D66"], "常见症状": ["出血", "关节肿胀"], "就诊科室": ["血液内科"]},
    "马方综合征": {"ICD10": ["Q87.4"], "常见症状": ["晶状体脱位", "主动脉扩张"], "就诊科室": ["心血管内科"]},
    "肝脾肿大": {"就诊科室": ["消化内科"], "常见症状": ["腹胀"]},
    "阿司匹林": {"分类": ["解热镇痛药"], "适应症": ["发热"]},
}


@pytest.fixture
def knowledge_file(tmp_path, settings):
    path = tmp_path / "cmekg.pkl"
    path.write_bytes(pickle.dumps(KNOWLEDGE))
    settings.RARECASES_KNOWLEDGE_GRAPH_PATH = str(path)
    from apps.rarecases.knowledge import _cached

    _cached.cache_clear()
    yield path
    _cached.cache_clear()


def add_diagnoses(hospital, specs, *, when=None, text=""):
    """specs: [(patient_key, icd10_code, diagnosis_text)]; one patient per distinct key,
    one encounter per diagnosis. Returns {patient_key: patient}."""
    when = when or timezone.now() - datetime.timedelta(days=10)
    patients = {}
    with tenant_context(hospital.pk):
        for key, code, label in specs:
            if key not in patients:
                patients[key] = patient_create(hospital_id=hospital.pk, name=f"患者{key}", sex="F",
                                               birth_date=datetime.date(1980, 5, 17))
            encounter = encounter_create(patient=patients[key], started_at=when, record_text=text)
            diagnosis_add(encounter=encounter, icd10_code=code, text=label, diagnosed_at=when)
    return patients
