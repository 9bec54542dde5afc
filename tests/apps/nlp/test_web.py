"""The web admin pages: an encounter's record with its entities highlighted, and search."""

import re

import pytest

from apps.patients.services import encounter_create, patient_create
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.factories import member_of
from tests.ml.ner.fixtures import CCKS_TEXTS


@pytest.fixture
def structured(hospital_a, active_ner, django_capture_on_commit_callbacks):
    with tenant_context(hospital_a.pk), django_capture_on_commit_callbacks(execute=True):
        patient = patient_create(hospital_id=hospital_a.pk, name="孙七")
        return encounter_create(patient=patient, record_text=CCKS_TEXTS[0][0])


def test_record_page_highlights_entities_and_keeps_the_text_whole(client, doctor_a, structured):
    client.force_login(doctor_a)
    # when the doctor opens the encounter's record
    response = client.get(f"/nlp/encounters/{structured.pk}/")
    # then every entity is a <mark> with its type, and the text reads exactly as written
    assert response.status_code == 200
    html = response.content.decode()
    marks = re.findall(r'<mark class="entity entity-(\w+)" data-label="\w+" data-start="(\d+)"[^>]*>([^<]*)</mark>', html)
    assert ("DRU", str(CCKS_TEXTS[0][0].index("奥沙利铂")), "奥沙利铂") in marks
    body = re.search(r'data-testid="record-text">(.*?)</div>', html, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", body) == CCKS_TEXTS[0][0]
    assert 'data-testid="model-version"' in html
    assert AuditEvent.objects.filter(action="encounter.read", patient_id=structured.patient_id).exists()


def test_record_page_of_another_hospital_is_a_404(client, doctor_b, structured):
    client.force_login(doctor_b)
    assert client.get(f"/nlp/encounters/{structured.pk}/").status_code == 404


def test_compliance_officers_and_patients_cannot_open_records(client, hospital_a, structured):
    for role in (Role.COMPLIANCE_OFFICER, Role.PATIENT):
        client.force_login(member_of(hospital_a, role))
        assert client.get(f"/nlp/encounters/{structured.pk}/").status_code == 403


def test_search_page_lists_matching_entities_with_links(client, doctor_a, structured):
    client.force_login(doctor_a)
    response = client.get("/nlp/entities/", {"label": "DRU", "q": "奥沙利"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "奥沙利铂" in html and f"/nlp/encounters/{structured.pk}/" in html
    assert 'data-nav="nlp_web:entities"' in html


def test_anonymous_visitors_go_to_login(client, structured):
    response = client.get("/nlp/entities/")
    assert response.status_code == 302 and "/login/" in response["Location"]
