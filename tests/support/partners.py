"""Building the data the sharing tests and the share benchmark need: platform
settings, partners, rare cases with their patient, diagnosis and lab report, the
population behind the k-anonymity check, consent. Everything through the services
where one exists; rows the rarecases branch will create itself are made directly."""

import datetime

from django.utils import timezone

from apps.compliance.consent import consent_record
from apps.compliance.models import ConsentPurpose, ConsentRecord
from apps.configuration.services import setting_set
from apps.partners.services import partner_create
from apps.patients.models import Patient
from apps.patients.services import diagnosis_add, encounter_create, patient_create
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.factories import member_of

BIRTH_DATE = datetime.date(1981, 3, 14)


def platform_admin(hospital):
    return member_of(hospital, Role.PLATFORM_ADMIN)


def platform_settings(admin, **values) -> None:
    """partners.<name>=value, platform-wide, through configuration management."""
    for name, value in values.items():
        setting_set(key=f"partners.{name}", value=value, actor=admin, role=Role.PLATFORM_ADMIN, hospital_id=None)


def hospital_settings(admin, hospital, **values) -> None:
    for name, value in values.items():
        setting_set(key=f"partners.{name}", value=value, actor=admin, role=Role.PLATFORM_ADMIN,
                    hospital_id=hospital.pk)


def partner_make(admin, *, code="peer", name="Peer platform", endpoint_url="http://127.0.0.1:9", our_id="origin",
                 focus=("E70-E90",), categories=("condition", "observation", "diagnostic_report"),
                 interconnected=True, key=""):
    created = partner_create(name=name, code=code, endpoint_url=endpoint_url, our_id_at_partner=our_id,
                             research_focus=list(focus), data_categories=list(categories),
                             interconnected=interconnected, hmac_key=key, actor=admin, role=Role.PLATFORM_ADMIN)
    return created.partner, created.key


def consent(hospital, patient, decision=ConsentRecord.Decision.GRANTED):
    return consent_record(hospital_id=hospital.pk, patient_id=patient.pk, purpose=ConsentPurpose.PARTNER_SHARING,
                          decision=decision, channel=ConsentRecord.Channel.PAPER)


def population(hospital, *, sex="F", birth_date=BIRTH_DATE, count: int) -> None:
    """`count` more patients with these quasi-identifiers (one INSERT)."""
    with tenant_context(hospital.pk):
        Patient.objects.bulk_create([
            Patient(hospital_id=hospital.pk, name=f"同龄人{i}", sex=sex, birth_date=birth_date,
                    medical_record_number=f"POP{hospital.pk}-{sex}-{birth_date:%Y%m%d}-{i}-{timezone.now():%f}")
            for i in range(count)])


def rare_case_make(hospital, *, icd10="E75.2", text="戈谢病", category="E70-E90", first=0.8, second=None,
                   sex="F", birth_date=BIRTH_DATE, consented=True, lab_report=True, findings=(), codes=(),
                   patient=None):
    """A rare case as the registry (rarecases branch) will write it, on a real
    patient (a new one unless given), encounter and diagnosis; with a signed-off lab
    report when asked."""
    from apps.rarecases.models import RareCase

    if patient is None:
        patient = patient_create(hospital_id=hospital.pk, name="王小丽", sex=sex, birth_date=birth_date,
                                 national_id="110105198103140025", phone="13800138000")
    with tenant_context(hospital.pk):
        # No clinical text: it would start the clinical NER, which these tests do not need.
        encounter = encounter_create(patient=patient, kind="inpatient", started_at=timezone.now())
        diagnosis = diagnosis_add(encounter=encounter, icd10_code=icd10, text=text, is_primary=True)
        case = RareCase.objects.create(
            hospital_id=hospital.pk, diagnosis=diagnosis, patient=patient, icd10_code=icd10, diagnosis_text=text,
            category=category, incidence=0.00002, rare_feature=0.4,
            retrieval_feature={"codes": [icd10, *codes], "findings": list(findings), "category": category},
            first_prediction_index=first, second_prediction_index=second)
        if lab_report:
            lab_report_make(hospital, patient)
    if consented:
        consent(hospital, patient)
    return case


def lab_report_make(hospital, patient):
    """A signed-off blood count of two items (rows as the report pipeline stores them)."""
    from apps.reports.models import LabItem, LabReport

    with tenant_context(hospital.pk):
        report = LabReport.objects.create(hospital_id=hospital.pk, patient=patient, file="lab-reports/x.jpg",
                                          content_type="image/jpeg", size=1, sha256="0" * 64,
                                          status=LabReport.Status.FINAL)
        LabItem.objects.create(hospital_id=hospital.pk, report=report, position=1, code="HGB", name="血红蛋白",
                               value=98.0, unit="g/L", range_low=115, range_high=150, flag="L")
        LabItem.objects.create(hospital_id=hospital.pk, report=report, position=2, code="PLT", name="血小板",
                               value=62.0, unit="10^9/L", range_low=125, range_high=350, flag="L")
    return report


def refresh(case) -> None:
    """Step 8 for one case (the registry's keep-alive), as its periodic task runs it:
    the retrieval feature rebuilt, related data retrieved, `case_refreshed` sent."""
    from apps.rarecases.keepalive import case_keep_alive

    with tenant_context(case.hospital_id):
        case_keep_alive(case_id=case.pk)
