"""Step 3 (retrieval feature, de-identified cross-hospital index) and step 4 (views
and uses with their transmission paths, first preset periods)."""

import datetime

import pytest
from django.utils import timezone

from apps.configuration.services import setting_set
from apps.core.exceptions import DomainError
from apps.nlp.models import RecordEntity
from apps.privacy.models import AuditEvent
from apps.rarecases.catalogue import catalogue_import
from apps.rarecases.knowledge import load_knowledge_graph
from apps.rarecases.models import AccessPeriod, CaseAccess, RareCase, RareCaseIndexEntry
from apps.rarecases.rarity import rarity_analyse
from apps.rarecases.selectors import access_counts, transmission_paths
from apps.rarecases.services import (access_period_current, case_access_record, first_period_length,
                                     index_access_record, rare_case_index)
from apps.reports.models import LabItem, LabReport
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

from .conftest import FIXTURES, add_diagnoses

pytestmark = pytest.mark.django_db
RECORD = "患者女，反复乏力3年，查体肝脾肿大，血常规提示贫血及血小板减少，骨髓穿刺见戈谢细胞，诊断戈谢病，予伊米苷酶治疗。"


def _lab(patient, when, items):
    report = LabReport.objects.create(hospital_id=patient.hospital_id, patient=patient, file="lab.png",
                                      content_type="image/png", size=1, sha256="0" * 64,
                                      status=LabReport.Status.PRELIMINARY)
    LabReport.objects.filter(pk=report.pk).update(created_at=when)
    for position, (code, name, value, flag) in enumerate(items):
        LabItem.objects.create(hospital_id=patient.hospital_id, report=report, position=position, code=code,
                               name=name, value=value, unit="g/L", flag=flag)


@pytest.fixture
def registered(hospital_a, hospital_b, knowledge_file):
    """Gaucher disease at hospital A (with its clinical record, a second diagnosis in
    the same encounter and lab results), Marfan syndrome at B, colds everywhere."""
    catalogue_import(folder=FIXTURES, graph=load_knowledge_graph(knowledge_file))
    when = timezone.now() - datetime.timedelta(days=5)
    patients = add_diagnoses(hospital_a, [("g", "E75.2", "戈谢病 13812345678")], when=when, text=RECORD)
    add_diagnoses(hospital_a, [(f"a{i}", "J06.9", "急性上呼吸道感染") for i in range(30)])
    add_diagnoses(hospital_b, [("m", "Q87.4", "马方综合征")] + [(f"b{i}", "J06.9", "感冒") for i in range(30)])
    with tenant_context(hospital_a.pk):
        gaucher = patients["g"]
        encounter = gaucher.encounters.get()
        from apps.patients.services import diagnosis_add

        diagnosis_add(encounter=encounter, icd10_code="D69.6", text="血小板减少", diagnosed_at=when)
        _lab(gaucher, when + datetime.timedelta(days=1), [("HGB", "血红蛋白", 82, "L"), ("PLT", "血小板", 60, "L"),
                                                          ("WBC", "白细胞", 6.1, "N")])
        _lab(gaucher, when - datetime.timedelta(days=200), [("ALT", "谷丙转氨酶", 300, "H")])
        # treatment around the diagnosis, one drug stopped long before it, and a follow-up visit
        from apps.patients.services import encounter_create
        from apps.reminders.models import MedicationPlan

        today = timezone.localdate()
        for drug, start, end in (("伊米苷酶", today - datetime.timedelta(days=4), None),
                                 ("阿莫西林", today - datetime.timedelta(days=300), today - datetime.timedelta(days=290))):
            MedicationPlan.objects.create(hospital_id=hospital_a.pk, patient=gaucher, drug_name=drug, dose="1 瓶",
                                          times=["08:00"], start_date=start, end_date=end)
        encounter_create(patient=gaucher, kind="outpatient", started_at=when + datetime.timedelta(days=3))
    setting_set(key="rarecases.incidence_rate", value=0.02, actor=None, role=Role.PLATFORM_ADMIN, hospital_id=None)
    setting_set(key="hospital.region_code", value="110105", actor=None, role=Role.HOSPITAL_ADMIN,
                hospital_id=hospital_a.pk)
    rarity_analyse()
    with tenant_context(hospital_a.pk):
        case_a = RareCase.objects.get(icd10_code="E75.2")
        rare_case_index(case_id=case_a.pk)
        case_a.refresh_from_db()
    with tenant_context(hospital_b.pk):
        case_b = RareCase.objects.get()
        rare_case_index(case_id=case_b.pk)
        case_b.refresh_from_db()
    return case_a, case_b


def test_the_retrieval_feature_holds_codes_entities_findings_category_and_heat(registered):
    case, _other = registered
    feature = case.retrieval_feature

    assert feature["codes"] == ["E75.2", "D69.6"]
    # the clinical NER (the shipped default model) structured the encounter's text on the way
    with tenant_context(case.hospital_id):
        stored = {}
        for label, text in RecordEntity.objects.filter(encounter_id=case.diagnosis.encounter_id).order_by(
                "start").values_list("label", "text"):
            stored.setdefault(label, []).append(text)
    assert feature["entities"] and feature["entities"] == stored
    assert [(f["code"], f["flag"]) for f in feature["findings"]] == [("HGB", "L"), ("PLT", "L")]  # near, abnormal
    assert feature["medication"] == ["伊米苷酶"]  # the drug of the time, not the one stopped months before
    assert feature["follow_up"] == {"outpatient": 1}
    assert feature["category"].startswith("E00-E90") and feature["rare_feature"] == case.rare_feature
    assert feature["catalogue"]["code"] == "CCRD:31"
    assert case.indexed_at is not None
    assert AuditEvent.objects.filter(action="rarecases.case_index", object_id=str(case.pk)).exists()


def test_the_index_entry_is_de_identified(registered):
    case, _other = registered
    entry = RareCaseIndexEntry.objects.get(case=case)
    public = " ".join(str(value) for value in entry.__dict__.values())

    assert case.patient.name not in public and case.patient.medical_record_number not in public
    assert "13812345678" not in entry.diagnosis_text and "[PHONE]" in entry.diagnosis_text
    assert entry.age_band in ("40-44", "45-49") and entry.sex == "F"
    assert entry.region == "1101"  # the hospital's area code, to its city
    assert len(entry.diagnosed_month) == 7 and entry.pseudonym and str(case.patient_id) != entry.pseudonym
    assert "d69.6" in entry.search_text and "血红蛋白" in entry.search_text


def test_staff_of_another_hospital_find_the_case_and_their_view_is_recorded(registered, hospital_b):
    case, _other = registered
    doctor_b = member_of(hospital_b, Role.DOCTOR)
    client = client_for(doctor_b)

    found = client.get("/api/v1/rare-cases/search/", {"q": "戈谢 血红蛋白"}).json()
    assert [row["icd10_code"] for row in found["results"]] == ["E75.2"]
    row = found["results"][0]
    assert row["hospital"] == "Hospital A" and "patient" not in row and "name" not in row
    detail = client.get(f"/api/v1/rare-cases/search/{row['id']}/")
    assert detail.status_code == 200
    access = CaseAccess.objects.get(pk=detail.json()["access"])
    assert (access.kind, access.actor, access.actor_hospital_id) == ("view", doctor_b, hospital_b.pk)
    # and B still cannot open A's identified case
    assert client.get(f"/api/v1/rare-cases/{case.pk}/").status_code == 404


@pytest.mark.parametrize("role", [Role.PATIENT, Role.COMPLIANCE_OFFICER])
def test_patients_and_compliance_officers_do_not_search_the_index(registered, hospital_b, role):
    assert client_for(member_of(hospital_b, role)).get("/api/v1/rare-cases/search/").status_code == 403


def test_a_forward_and_the_views_through_it_form_a_transmission_path(registered, hospital_a, hospital_b):
    case, _other = registered
    entry = RareCaseIndexEntry.objects.get(case=case)
    doctor_b, colleague = member_of(hospital_b, Role.DOCTOR), member_of(hospital_a, Role.DOCTOR)

    forwarded = client_for(doctor_b).post(f"/api/v1/rare-cases/search/{entry.pk}/forward/",
                                          {"to_user": colleague.pk, "note": "请看"})
    assert forwarded.status_code == 201
    via = forwarded.json()["id"]
    viewed = client_for(colleague).get(f"/api/v1/rare-cases/search/{entry.pk}/", {"via": via}).json()
    downloaded = client_for(colleague).get(f"/api/v1/rare-cases/search/{entry.pk}/download/",
                                           {"via": viewed["access"]})

    assert downloaded.status_code == 200 and downloaded["Content-Disposition"].startswith("attachment")
    forward = CaseAccess.objects.get(pk=via)
    assert forward.recipient == f"user:{colleague.pk}" and forward.actor_hospital_id == hospital_b.pk
    paths = transmission_paths(entry=entry)
    assert [[step["kind"] for step in path["steps"]] for path in paths] == [["forward", "view", "download"]]
    counts = access_counts(entry_ids=[entry.pk])[entry.pk]
    assert (counts["views"], counts["uses"], counts["forward"], counts["download"]) == (1, 2, 1, 1)


def test_bad_uses_are_refused_with_a_4xx_and_write_nothing(registered, hospital_b):
    case, other = registered
    entry, other_entry = RareCaseIndexEntry.objects.get(case=case), RareCaseIndexEntry.objects.get(case=other)
    client = client_for(member_of(hospital_b, Role.DOCTOR))
    foreign = client.get(f"/api/v1/rare-cases/search/{other_entry.pk}/").json()["access"]
    before = CaseAccess.objects.count()

    wrong_kind = client.post(f"/api/v1/rare-cases/search/{entry.pk}/uses/", {"kind": "delete"})
    wrong_parent = client.post(f"/api/v1/rare-cases/search/{entry.pk}/uses/", {"kind": "citation", "parent": foreign})
    not_staff = client.post(f"/api/v1/rare-cases/search/{entry.pk}/forward/", {"to_user": 999999})
    missing = client.get("/api/v1/rare-cases/search/00000000-0000-0000-0000-000000000000/")

    assert [r.status_code for r in (wrong_kind, wrong_parent, not_staff, missing)] == [400, 400, 400, 404]
    assert wrong_parent.json()["error"]["fields"]["parent"]
    assert CaseAccess.objects.count() == before


def test_case_access_record_is_the_entry_for_shares(registered, hospital_a):
    case, _other = registered
    with tenant_context(hospital_a.pk):
        share = case_access_record(case=case, kind="share", channel="partner:7")
        with pytest.raises(DomainError):
            case_access_record(case=case, kind="like")
    assert (share.kind, share.recipient, share.actor_hospital_id) == ("share", "partner:7", hospital_a.pk)


def test_the_first_period_shrinks_as_visits_grow_within_bounds(db):
    setting_set(key="rarecases.first_period_base_days", value=10.0, actor=None, role=Role.PLATFORM_ADMIN,
                hospital_id=None)
    setting_set(key="rarecases.first_period_reference_visits", value=100, actor=None, role=Role.PLATFORM_ADMIN,
                hospital_id=None)
    setting_set(key="rarecases.first_period_bounds_hours", value=[24, 480], actor=None, role=Role.PLATFORM_ADMIN,
                hospital_id=None)

    assert first_period_length(100) == datetime.timedelta(days=10)
    assert first_period_length(200) == datetime.timedelta(days=5)  # twice the visits, half the period
    assert first_period_length(10) == datetime.timedelta(hours=480)  # the upper bound
    assert first_period_length(100_000) == datetime.timedelta(hours=24)  # the lower bound
    assert first_period_length(0) == datetime.timedelta(hours=480)


def test_periods_open_one_after_another_sized_on_the_visits_before(registered, hospital_b):
    case, _other = registered
    entry = RareCaseIndexEntry.objects.get(case=case)
    start = timezone.now()
    first = access_period_current(now=start)
    with tenant_context(hospital_b.pk):
        for _ in range(3):
            index_access_record(entry=entry, kind="view")
    CaseAccess.objects.update(occurred_at=first.starts_at + datetime.timedelta(minutes=1))

    following = access_period_current(now=first.ends_at + datetime.timedelta(minutes=1))

    assert following.number == first.number + 1 and following.starts_at == first.ends_at
    assert following.visits_basis == 3
    assert access_period_current(now=first.ends_at + datetime.timedelta(minutes=2)).pk == following.pk
    assert AccessPeriod.objects.count() == 2
