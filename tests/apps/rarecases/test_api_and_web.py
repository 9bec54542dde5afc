"""The registry API and the web admin pages: scoping by hospital and role, filters
and order, the case detail (views recorded), following, uses, the runs; no 500 for
bad input; the list's query count does not grow with its rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.configuration.services import setting_set
from apps.rarecases.models import CaseAccess, CaseFollow, RareCase, RareCaseIndexEntry, RarityAnalysis
from apps.rarecases.rarity import rarity_analyse
from apps.rarecases.services import rare_case_index
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

from .conftest import add_diagnoses

pytestmark = pytest.mark.django_db
URL = "/api/v1/rare-cases/"


@pytest.fixture
def cases(hospital_a, hospital_b):
    """Hospital A: one patient with a code seen once (rarest), two with a code seen
    twice; B: one case."""
    add_diagnoses(hospital_a, [("x", "Q87.4", "马方综合征"), ("y", "E75.2", "戈谢病"), ("z", "E75.2", "戈谢病")]
                  + [(f"c{i}", "J06.9", "感冒") for i in range(40)])
    add_diagnoses(hospital_b, [("w", "G35", "多发性硬化")])
    setting_set(key="rarecases.incidence_rate", value=0.05, actor=None, role=Role.PLATFORM_ADMIN, hospital_id=None)
    rarity_analyse()
    for hospital in (hospital_a, hospital_b):
        with tenant_context(hospital.pk):
            for case_id in RareCase.objects.values_list("pk", flat=True):
                rare_case_index(case_id=case_id, structure=False)
    with tenant_context(hospital_a.pk):
        return list(RareCase.objects.order_by("pk"))


def test_the_list_is_the_hospitals_cases_rarest_first_with_filters(cases, doctor_a):
    client = client_for(doctor_a)
    rows = client.get(URL).json()["results"]
    assert [row["icd10_code"] for row in rows] == ["Q87.4", "E75.2", "E75.2"]
    assert [row["icd10_code"] for row in client.get(URL, {"code": "E75"}).json()["results"]] == ["E75.2", "E75.2"]
    assert client.get(URL, {"category": "Q00-Q99 先天性畸形、变形和染色体异常"}).json()["count"] == 1
    assert client.get(URL, {"catalogue": "true"}).json()["count"] == 0
    assert client.get(URL, {"ordering": "-incidence"}).json()["results"][0]["icd10_code"] == "E75.2"


def test_the_detail_records_a_view_and_shows_access_and_followers(cases, doctor_a):
    case = cases[0]
    client = client_for(doctor_a)
    assert client.post(f"{URL}{case.pk}/follow/").json() == {"following": True}
    assert client.post(f"{URL}{case.pk}/uses/", {"kind": "citation"}).status_code == 201

    detail = client.get(f"{URL}{case.pk}/").json()

    assert detail["patient_name"] and detail["following"] and detail["followers"][0]["user"] == doctor_a.pk
    assert detail["access"]["total"]["citation"] == 1 and detail["access"]["total"]["views"] == 1
    assert detail["index_entry"] and "prediction_range" in detail  # declared by the sharing app, when installed
    assert client.delete(f"{URL}{case.pk}/follow/").json() == {"following": False}
    assert not CaseFollow.unscoped_objects.exists()


def test_other_hospitals_cases_and_other_roles_are_refused(cases, hospital_a, doctor_b):
    case = cases[0]
    assert client_for(doctor_b).get(f"{URL}{case.pk}/").status_code == 404
    assert client_for(doctor_b).get(URL).json()["count"] == 1
    for role in (Role.PATIENT, Role.COMPLIANCE_OFFICER):
        assert client_for(member_of(hospital_a, role)).get(URL).status_code == 403
    assert client_for(doctor_b).get(f"{URL}not-a-number/").status_code == 404


def test_bad_input_is_a_4xx(cases, doctor_a):
    case = cases[0]
    client = client_for(doctor_a)
    assert client.post(f"{URL}{case.pk}/uses/", {"kind": "view"}).status_code == 400
    assert client.post(f"{URL}{case.pk}/uses/", {"kind": "citation", "parent": "nope"}).status_code == 400
    assert client.post(f"{URL}{case.pk}/uses/", "[1, 2", content_type="application/json").status_code == 400
    assert client.get(f"{URL}search/", {"q": "x" * 5000}).status_code == 200
    assert CaseAccess.objects.filter(kind="citation").count() == 0


def test_reindex_and_refresh_run_for_the_case(cases, doctor_a, django_capture_on_commit_callbacks):
    case = cases[0]
    client = client_for(doctor_a)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{URL}{case.pk}/refresh/").status_code == 202
    with tenant_context(case.hospital_id):
        case.refresh_from_db()
    assert case.kept_alive_at is not None and case.related_data["items"]


def test_platform_admins_start_runs_others_read_them(cases, hospital_a, doctor_a, django_capture_on_commit_callbacks):
    admin = member_of(hospital_a, Role.PLATFORM_ADMIN)
    assert client_for(doctor_a).post(f"{URL}analyses/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(admin).post(f"{URL}analyses/").status_code == 202
    assert RarityAnalysis.objects.count() == 2
    runs = client_for(doctor_a).get(f"{URL}analyses/").json()["results"]
    assert runs[0]["status"] == "done" and runs[0]["codes_rare"] == 3
    assert client_for(doctor_a).get(f"{URL}trend-runs/").status_code == 200
    assert client_for(doctor_a).get(f"{URL}catalogue/", {"q": "戈谢"}).status_code == 200


def test_list_query_count_does_not_grow_with_rows(cases, doctor_a, hospital_a, settings):
    settings.AUDIT_CHAIN_SHARDS = 1
    client = client_for(doctor_a)
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    add_diagnoses(hospital_a, [(f"r{i}", f"Q9{i % 10}.{i}", "罕见") for i in range(12)])
    rarity_analyse()
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert client.get(URL).json()["count"] > 10 and len(many) == len(few)


def test_the_web_pages(cases, client, doctor_a, hospital_a, doctor_b):
    case = cases[0]
    entry = RareCaseIndexEntry.objects.get(case=case)
    client.force_login(doctor_a)
    registry = client.get("/rare-cases/")
    assert registry.status_code == 200 and "Q87.4" in registry.content.decode()
    page = client.get(f"/rare-cases/{case.pk}/")
    assert page.status_code == 200 and 'data-testid="indexes"' in page.content.decode()
    assert client.post(f"/rare-cases/{case.pk}/follow/", {"follow": "1"}).status_code == 302
    assert CaseFollow.unscoped_objects.filter(user=doctor_a).exists()
    assert client.get("/rare-cases/search/", {"q": "q87"}).status_code == 200
    assert client.get(f"/rare-cases/search/{entry.pk}/").status_code == 200
    assert client.get("/rare-cases/runs/").status_code == 200
    assert client.post("/rare-cases/runs/analysis/start/").status_code == 403  # platform admins only
    client.force_login(doctor_b)
    assert client.get(f"/rare-cases/{case.pk}/").status_code == 404
    assert client.get(f"/rare-cases/search/{entry.pk}/").status_code == 200  # de-identified, across hospitals
    client.force_login(member_of(hospital_a, Role.PATIENT))
    assert client.get("/rare-cases/").status_code == 403


def test_other_apps_add_panels_to_the_case_page(cases, client, doctor_a, tmp_path, settings):
    from apps.rarecases.panels import register_case_panel, unregister_case_panel

    case = cases[0]
    (tmp_path / "panel.html").write_text('<section data-testid="extra">{{ code }}</section>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]
    register_case_panel("test.extra", template="panel.html", context=lambda case: {"code": case.icd10_code})
    register_case_panel("test.broken", template="panel.html", context=lambda case: 1 / 0)
    try:
        client.force_login(doctor_a)
        page = client.get(f"/rare-cases/{case.pk}/").content.decode()
    finally:
        unregister_case_panel("test.extra")
        unregister_case_panel("test.broken")
    assert '<section data-testid="extra">Q87.4</section>' in page
