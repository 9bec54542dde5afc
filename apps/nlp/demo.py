"""Demo clinical records for `manage.py seed_demo`, so the clinical-entities pages
have something to show after `make run`. The texts are written here (no data set);
saving them sends `encounter_recorded`, and the NER task structures them."""

from apps.patients.models import Encounter, Patient
from apps.patients.services import encounter_create
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Department
from apps.tenancy.roles import Role

DEMO_RECORDS = [
    (Encounter.Kind.INPATIENT,
     "患者男，62岁，因“便血2月”入院。肠镜示直肠距肛缘8cm见一溃疡型肿物，病理示中分化腺癌。腹部增强CT未见肝转移。"
     "于3月前行腹腔镜下直肠癌根治术，术后予奥沙利铂联合卡培他滨化疗6周期。复查癌胚抗原正常。"),
    (Encounter.Kind.OUTPATIENT,
     "患者女，55岁，体检发现甲状腺结节1年。颈部彩超示甲状腺右叶低回声结节，大小约1.2cm。行甲状腺右叶切除术，"
     "术后病理示甲状腺乳头状癌。术后予左甲状腺素钠片口服，定期复查促甲状腺激素。"),
    (Encounter.Kind.EMERGENCY,
     "患者男，70岁，咳嗽咳痰伴发热3天。胸部CT示右肺下叶炎症。血常规：白细胞计数12.8×10^9/L，C反应蛋白升高。"
     "诊断为社区获得性肺炎，予头孢曲松抗感染治疗。"),
]


def demo_records_seed(*, hospital, doctor) -> int:
    """One demo record for each of the hospital's first patients, once: nothing is
    added when any encounter of the hospital already holds record text. Returns how
    many encounters were created."""
    with tenant_context(hospital.pk):
        if Encounter.objects.exclude(record_text="").exists():
            return 0
        department = Department.objects.filter(code="IM").first()
        patients = list(Patient.objects.order_by("pk")[: len(DEMO_RECORDS)])
        for patient, (kind, text) in zip(patients, DEMO_RECORDS):
            encounter_create(patient=patient, kind=kind, department=department, attending=doctor, record_text=text,
                             actor=doctor, role=Role.DOCTOR)
        return len(patients)
