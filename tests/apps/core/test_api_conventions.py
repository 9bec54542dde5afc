import pytest
from rest_framework.test import APIClient

from tests.conftest import client_for


def test_unknown_api_url_answers_json_404(db):
    response = APIClient().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_answers_405_in_the_error_shape(doctor_a):
    response = client_for(doctor_a).delete("/api/v1/auth/me/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_wrong_content_type_answers_415(doctor_a):
    response = client_for(doctor_a).post("/api/v1/patients/", "name=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_openapi_schema_is_served_and_lists_the_endpoints(db):
    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/auth/token/", "/api/v1/auth/wechat/", "/api/v1/patients/"} <= set(paths)


def test_schema_ui_is_served_without_a_cdn(client, db):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    assert b"/static/drf_spectacular_sidecar/" in response.content


@pytest.mark.parametrize("page_size", ["abc", "-1", "100000"])
def test_odd_page_sizes_do_not_break_listing(doctor_a, page_size):
    response = client_for(doctor_a).get("/api/v1/patients/", {"page_size": page_size})
    assert response.status_code == 200


def test_page_out_of_range_is_a_404(doctor_a):
    response = client_for(doctor_a).get("/api/v1/patients/", {"page": 99})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_large_lists_cap_their_count(doctor_a, hospital_a, monkeypatch):
    # Given more rows than the cap (lowered to keep the test small)
    from apps.core import pagination
    from apps.patients.services import patient_create

    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    for n in range(5):
        patient_create(hospital_id=hospital_a.pk, name=f"P{n}")
    # when listing
    body = client_for(doctor_a).get("/api/v1/patients/", {"page_size": 2}).json()
    # then the count stops at the cap and says so, and paging still works
    assert (body["count"], body["count_capped"], len(body["results"])) == (3, True, 2)
    assert body["next"] is not None


def test_small_lists_count_exactly(doctor_a, hospital_a):
    from apps.patients.services import patient_create

    patient_create(hospital_id=hospital_a.pk, name="Only")
    body = client_for(doctor_a).get("/api/v1/patients/").json()
    assert (body["count"], body["count_capped"]) == (1, False)
