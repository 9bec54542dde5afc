"""Reading tips through /api/v1/tips/: categories, favourites, reading history,
recommendations with their reasons, and tenant scoping."""

from django.utils import timezone

from apps.patients.services import diagnosis_add, encounter_create
from apps.privacy.models import AuditEvent
from apps.reminders.services import plan_create
from apps.tenancy.context import tenant_context
from apps.tips.services import neighbours_refresh
from tests.apps.reminders.conftest import make_patient

from .conftest import a_tip

TIPS = "/api/v1/tips/"


def test_patients_list_published_tips_by_category(patient_a, hospital_a):
    diet = a_tip(hospital_a, "低盐饮食", "<p>每天盐不超过5克</p>", category="diet")
    a_tip(hospital_a, "快走", "<p>每天快走30分钟</p>", category="exercise")
    a_tip(hospital_a, "草稿", "<p>未完成</p>", category="diet", published=False)

    response = patient_a.client.get(TIPS, {"category": "diet"})

    assert [tip["id"] for tip in response.json()["results"]] == [diet.pk]
    assert patient_a.client.get(TIPS, {"category": "gossip"}).status_code == 400


def test_another_hospitals_tip_is_not_found(patient_a, hospital_b):
    elsewhere = a_tip(hospital_b, "外院", "<p>内容</p>")

    assert patient_a.client.get(f"{TIPS}{elsewhere.pk}/").status_code == 404
    assert patient_a.client.post(f"{TIPS}{elsewhere.pk}/favourite/").status_code == 404


def test_favourites_and_reading_history(patient_a, hospital_a):
    first, second = a_tip(hospital_a, "一", "<p>一</p>"), a_tip(hospital_a, "二", "<p>二</p>")

    # reading twice counts twice, in one history row
    patient_a.client.get(f"{TIPS}{first.pk}/")
    patient_a.client.get(f"{TIPS}{first.pk}/")
    saved = patient_a.client.post(f"{TIPS}{second.pk}/favourite/")
    again = patient_a.client.post(f"{TIPS}{second.pk}/favourite/")

    assert (saved.status_code, again.status_code) == (201, 200)
    assert [tip["id"] for tip in patient_a.client.get(f"{TIPS}favourites/").json()] == [second.pk]
    history = patient_a.client.get(f"{TIPS}history/").json()
    assert [(row["id"], row["count"]) for row in history] == [(first.pk, 2)]
    assert patient_a.client.delete(f"{TIPS}{second.pk}/favourite/").status_code == 204
    assert patient_a.client.get(f"{TIPS}favourites/").json() == []
    with tenant_context(hospital_a.pk):
        actions = set(AuditEvent.objects.filter(patient_id=patient_a.patient.pk).values_list("action", flat=True))
    assert {"tip.read", "tip.favourite", "tip.unfavourite", "tip.history_read"} <= actions


def test_staff_without_a_patient_record_have_no_favourites(editor_client, hospital_a):
    tip = a_tip(hospital_a, "一", "<p>一</p>")
    assert editor_client.post(f"{TIPS}{tip.pk}/favourite/").status_code == 403


def test_recommendations_follow_diagnoses_and_plans_and_say_why(patient_a, hospital_a):
    # Given a patient diagnosed with type 2 diabetes who takes atorvastatin
    encounter = encounter_create(patient=patient_a.patient)
    diagnosis_add(encounter=encounter, icd10_code="E11.9", text="2型糖尿病")
    plan_create(patient=patient_a.patient, actor=None, role="", drug_name="阿托伐他汀", dose="20 mg", times=["21:00"],
                start_date=timezone.localdate())
    diabetes = a_tip(hospital_a, "糖尿病饮食", "<p>控制血糖，少吃精制糖</p>", category="diet")
    statins = a_tip(hospital_a, "他汀类药物须知", "<p>服用他汀期间注意肌肉酸痛</p>", category="medication")
    a_tip(hospital_a, "流感疫苗", "<p>秋季接种流感疫苗</p>")

    # When
    response = patient_a.client.get(f"{TIPS}recommended/", {"limit": 2})

    # Then the two matching tips, each with its reason
    assert response.status_code == 200, response.json()
    reasons = {row["tip"]["id"]: (row["source"], row["reason"]) for row in response.json()}
    assert set(reasons) == {diabetes.pk, statins.pk}
    assert reasons[diabetes.pk][0] == "tags" and "2型糖尿病" in reasons[diabetes.pk][1]
    assert reasons[statins.pk][0] == "tags" and "阿托伐他汀" in reasons[statins.pk][1]


def test_cold_start_recommends_what_is_popular(patient_a, hospital_a):
    # Given a new patient with no data and tips others read
    popular, quiet = a_tip(hospital_a, "热门", "<p>热门</p>"), a_tip(hospital_a, "冷门", "<p>冷门</p>")
    for index in range(3):
        make_patient(hospital_a, f"读者{index}").client.get(f"{TIPS}{popular.pk}/")

    rows = patient_a.client.get(f"{TIPS}recommended/").json()

    assert [row["tip"]["id"] for row in rows] == [popular.pk, quiet.pk]
    assert {row["source"] for row in rows} == {"popular"}


def test_collaborative_filtering_suggests_what_similar_readers_read(patient_a, hospital_a):
    # Given readers who read A read B too, and our patient read A
    tip_a, tip_b = a_tip(hospital_a, "甲", "<p>甲</p>"), a_tip(hospital_a, "乙", "<p>乙</p>")
    tip_c = a_tip(hospital_a, "丙", "<p>丙</p>")
    for index in range(3):
        reader = make_patient(hospital_a, f"读者{index}")
        reader.client.get(f"{TIPS}{tip_a.pk}/")
        reader.client.get(f"{TIPS}{tip_b.pk}/")
    for index in range(5):
        make_patient(hospital_a, f"路人{index}").client.get(f"{TIPS}{tip_c.pk}/")
    patient_a.client.get(f"{TIPS}{tip_a.pk}/")
    with tenant_context(hospital_a.pk):
        neighbours_refresh(hospital_id=hospital_a.pk)

    rows = patient_a.client.get(f"{TIPS}recommended/").json()

    # Then B comes first, because of A, though C is more popular
    assert rows[0]["tip"]["id"] == tip_b.pk
    assert rows[0]["source"] == "similar" and "甲" in rows[0]["reason"]
    assert tip_a.pk not in [row["tip"]["id"] for row in rows]


def test_a_bad_limit_is_a_400(patient_a):
    assert patient_a.client.get(f"{TIPS}recommended/", {"limit": 500}).status_code == 400
    assert patient_a.client.get(f"{TIPS}recommended/", {"limit": "ten"}).status_code == 400
