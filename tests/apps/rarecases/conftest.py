import datetime
import pickle
from pathlib import Path

import pytest
from django.utils import timezone

from apps.patients.services import diagnosis_add, encounter_create, patient_create
from apps.tenancy.context import tenant_context

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rare"

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
