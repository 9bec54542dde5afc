"""The public catalogue: experts of every hospital, search, slots with remaining
places, and the cached counts that follow every change."""

from django.utils import timezone

from apps.privacy.models import AuditEvent
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

from .conftest import book, make_expert, make_session, person

EXPERTS = "/api/v1/booking/experts/"


def _names(response):
    assert response.status_code == 200, response.json()
    return [row["name"] for row in response.json()["results"]]


def test_the_catalogue_lists_experts_of_every_hospital(api_client, hospital_a, hospital_b):
    make_expert(hospital_a, name="王建国")
    make_expert(hospital_b, name="陈静", title="associate_chief", specialties="哮喘, 慢阻肺", department_name="呼吸内科")
    # anyone, even before logging in, sees both hospitals' experts
    assert sorted(_names(api_client.get(EXPERTS))) == sorted(["王建国", "陈静"])
    # and can narrow by hospital and title
    assert _names(api_client.get(EXPERTS, {"hospital": "hospital-b"})) == ["陈静"]
    assert _names(api_client.get(EXPERTS, {"title": "chief"})) == ["王建国"]


def test_the_cross_hospital_read_is_audited_with_its_reason(hospital_a, patient_user, patient_client):
    make_expert(hospital_a)
    patient_client.get(EXPERTS)
    event = AuditEvent.objects.filter(action="tenancy.unscoped").latest("occurred_at")
    assert event.detail == {"reason": "booking.public_catalogue"}
    assert event.actor_id == patient_user.pk


def test_keyword_search_segments_chinese_with_jieba(api_client, hospital_a, hospital_b):
    make_expert(hospital_a, name="王建国", specialties="高血压, 冠心病", department_name="心血管内科")
    make_expert(hospital_a, name="李芳", title="attending", specialties="糖尿病, 甲状腺疾病", department_name="内分泌科")
    make_expert(hospital_b, name="张伟", specialties="糖尿病足, 周围血管病", department_name="血管外科")
    # a word inside a longer one matches (糖尿 in 糖尿病), across hospitals
    assert sorted(_names(api_client.get(EXPERTS, {"q": "糖尿"}))) == ["张伟", "李芳"]
    # a phrase is segmented and every word must match
    assert _names(api_client.get(EXPERTS, {"q": "内分泌科糖尿病"})) == ["李芳"]
    assert _names(api_client.get(EXPERTS, {"q": "高血压 主任医师"})) == ["王建国"]
    # names match whole or in part
    assert _names(api_client.get(EXPERTS, {"q": "建国"})) == ["王建国"]
    assert _names(api_client.get(EXPERTS, {"q": "骨折"})) == []


def test_date_filter_keeps_experts_with_a_published_session_that_day(api_client, hospital_a):
    working = make_expert(hospital_a, name="王建国")
    make_expert(hospital_a, name="李芳", department_name="内分泌科")
    slot = make_session(working, days_ahead=3)[0]
    make_session(make_expert(hospital_a, name="赵敏", department_name="骨科"), days_ahead=3, publish=False)
    day = timezone.localdate(slot.start).isoformat()
    assert _names(api_client.get(EXPERTS, {"date": day})) == ["王建国"]


def test_bad_filters_are_400(api_client, db):
    response = api_client.get(EXPERTS, {"date": "tomorrow", "title": "professor"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"date", "title"}


def test_slots_show_capacity_and_remaining(api_client, hospital_a, expert_a):
    slots = make_session(expert_a, capacity=3)
    response = api_client.get(f"{EXPERTS}{expert_a.pk}/slots/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == len(slots) == 8
    assert rows[0] == {"id": slots[0].pk, "start": slots[0].start.isoformat(), "end": slots[0].end.isoformat(),
                       "capacity": 3, "remaining": 3}
    assert response.json()["hospital"] == "hospital-a"


def test_slot_range_is_validated_and_unknown_experts_are_404(api_client, hospital_a, expert_a):
    response = api_client.get(f"{EXPERTS}{expert_a.pk}/slots/", {"date_from": "2026-12-10", "date_to": "2026-12-01"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid")
    response = api_client.get(f"{EXPERTS}{expert_a.pk}/slots/", {"date_from": "2026-12-01", "date_to": "2027-03-01"})
    assert response.status_code == 400
    assert api_client.get(f"{EXPERTS}999999/slots/").status_code == 404
    assert api_client.get(f"{EXPERTS}abc/slots/").status_code == 404


def test_cached_remaining_counts_follow_every_change(api_client, hospital_a, expert_a,
                                                     django_capture_on_commit_callbacks):
    slot = make_session(expert_a, capacity=2)[0]
    url = f"{EXPERTS}{expert_a.pk}/slots/"
    assert api_client.get(url).json()["results"][0]["remaining"] == 2  # now cached
    client = client_for(member_of(hospital_a, Role.PATIENT))
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(client, slot, person()).json()
    assert api_client.get(url).json()["results"][0]["remaining"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/booking/appointments/{appointment['id']}/cancel/")
    assert api_client.get(url).json()["results"][0]["remaining"] == 2


def test_the_slots_answer_is_served_from_the_cache(api_client, hospital_a, expert_a, django_assert_max_num_queries):
    make_session(expert_a)
    url = f"{EXPERTS}{expert_a.pk}/slots/"
    first = api_client.get(url).json()
    # the second read asks the database only for the expert (and audits the read)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        second = api_client.get(url).json()
    assert second == first
    assert not any("booking_slot" in query["sql"] for query in queries.captured_queries)
