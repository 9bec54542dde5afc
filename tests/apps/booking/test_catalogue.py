"""The public catalogue: experts of every hospital, search, slots with remaining
places, and the cached counts that follow every change."""

import pytest
from django.utils import timezone

from apps.booking import api, selectors
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


@pytest.mark.parametrize("candidate_limit", [1000, 0], ids=["rarest-piece-candidates", "walk-the-listing-order"])
def test_search_gives_the_same_answer_whichever_way_it_narrows(api_client, hospital_a, hospital_b, monkeypatch,
                                                               candidate_limit):
    # With a limit of 0 every piece counts as common: the words are checked while
    # walking the listing order instead of on the rarest piece's experts.
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATE_LIMIT", candidate_limit)
    make_expert(hospital_a, name="王建国", specialties="高血压, 冠心病", department_name="心血管内科")
    make_expert(hospital_a, name="李芳", title="attending", specialties="糖尿病, 甲状腺疾病", department_name="内分泌科")
    make_expert(hospital_b, name="张伟", specialties="糖尿病足, 周围血管病", department_name="血管外科")
    make_expert(hospital_b, name="王芳", title="associate_chief", specialties="哮喘", department_name="呼吸内科")
    assert _names(api_client.get(EXPERTS, {"q": "糖尿"})) == ["张伟", "李芳"]  # chief physicians first
    assert _names(api_client.get(EXPERTS, {"q": "王"})) == ["王建国", "王芳"]
    assert _names(api_client.get(EXPERTS, {"q": "主任医师 王"})) == ["王建国", "王芳"]  # 副主任医师 holds 主任医师
    assert _names(api_client.get(EXPERTS, {"q": "糖尿病 甲状腺"})) == ["李芳"]
    assert _names(api_client.get(EXPERTS, {"q": "血管 王"})) == ["王建国"]
    assert _names(api_client.get(EXPERTS, {"q": "王 骨折"})) == []
    # wildcards of LIKE are plain characters to the search
    assert _names(api_client.get(EXPERTS, {"q": "%"})) == []
    assert _names(api_client.get(EXPERTS, {"q": "王_"})) == []


def test_count_and_pages_come_from_the_database(api_client, hospital_a, monkeypatch):
    for name in ("陈1", "陈2", "陈3", "陈4", "陈5"):
        make_expert(hospital_a, name=name)
    first = api_client.get(EXPERTS, {"q": "陈", "page_size": 2}).json()
    assert (first["count"], first["count_capped"], len(first["results"])) == (5, False, 2)
    last = api_client.get(EXPERTS, {"q": "陈", "page_size": 2, "page": 3}).json()
    assert [row["name"] for row in last["results"]] == ["陈5"]
    assert api_client.get(EXPERTS, {"q": "陈", "page_size": 2, "page": 4}).status_code == 404
    # past the cap the count stops and says so
    monkeypatch.setattr(selectors, "CATALOGUE_MATCH_CAP", 3)
    monkeypatch.setattr(api, "CATALOGUE_MATCH_CAP", 3)
    capped = api_client.get(EXPERTS, {"q": "陈", "page_size": 2}).json()
    assert (capped["count"], capped["count_capped"]) == (3, True)


def test_an_expert_row_has_exactly_the_documented_fields(api_client, hospital_a):
    make_expert(hospital_a, name="王建国")
    row = api_client.get(EXPERTS).json()["results"][0]
    assert list(row) == list(api.ExpertOutputSerializer().fields)
    assert row["title_display"] == "主任医师"  # in the default language
    assert row["hospital"] == {"slug": "hospital-a", "name": hospital_a.name}
    assert set(row["department"]) == {"id", "name"} and row["department"]["name"] == "心血管内科"
    assert (row["photo"], row["next_free_slot"]) == (None, None)


def test_next_free_slot_skips_full_slots_and_follows_the_date(api_client, hospital_a, expert_a,
                                                              django_capture_on_commit_callbacks):
    later = make_session(expert_a, days_ahead=5, capacity=1)
    sooner = make_session(expert_a, days_ahead=3, capacity=1)
    make_session(expert_a, days_ahead=2, capacity=1, publish=False)  # a draft is not bookable

    def next_free(**params):
        return api_client.get(EXPERTS, params).json()["results"][0]["next_free_slot"]

    assert next_free() == {"id": sooner[0].pk, "start": sooner[0].start.isoformat()}
    client = client_for(member_of(hospital_a, Role.PATIENT))
    with django_capture_on_commit_callbacks(execute=True):
        assert book(client, sooner[0], person()).status_code == 201
    assert next_free()["id"] == sooner[1].pk  # the first slot is full now
    # searching a day gives the first free slot of that day
    assert next_free(date=timezone.localdate(later[0].start).isoformat())["id"] == later[0].pk


def test_a_catalogue_page_costs_the_same_queries_whatever_its_length(api_client, hospital_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(page_size):
        with CaptureQueriesContext(connection) as captured:
            assert len(api_client.get(EXPERTS, {"q": "专家", "page_size": page_size}).json()["results"]) == page_size
        return len(captured.captured_queries)

    for n in range(12):
        make_expert(hospital_a, name=f"专家{n}")
    queries(1)  # the first read of the catalogue makes its audit chain's head
    assert queries(1) == queries(12)
