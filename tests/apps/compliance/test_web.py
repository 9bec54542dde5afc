import io
import json
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from apps.compliance.models import ViolationCase
from apps.privacy.services import audit_record
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.apps.privacy.test_audit_chain import _tamper
from tests.factories import PASSWORD


def logged_in(user) -> Client:
    client = Client()
    assert client.post(reverse("webadmin:login"), {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


@pytest.fixture
def event_a(hospital_a, doctor_a, patient_a):
    return audit_record(action="patient.read", actor=doctor_a, role=Role.DOCTOR, hospital_id=hospital_a.pk,
                        object_type="patient", object_id=patient_a.pk, patient_id=patient_a.pk)


def test_officer_searches_and_sees_the_patient_timeline(officer_a, event_a, patient_a):
    client = logged_in(officer_a)
    page = client.get(reverse("compliance_web:events"), {"action": "patient.read"})
    assert page.status_code == 200 and f'data-event="{event_a.pk}"'.encode() in page.content
    timeline = client.get(reverse("compliance_web:patient-timeline", args=[patient_a.pk]))
    assert f'data-event="{event_a.pk}"'.encode() in timeline.content


def test_a_bad_filter_answers_400(officer_a):
    assert logged_in(officer_a).get(reverse("compliance_web:events"), {"patient": "x"}).status_code == 400


def test_doctors_cannot_open_the_audit_pages(doctor_a):
    assert logged_in(doctor_a).get(reverse("compliance_web:events")).status_code == 403


def test_export_zip_verifies_and_a_forged_manifest_is_flagged(officer_a, event_a):
    client = logged_in(officer_a)
    response = client.post(reverse("compliance_web:export"), {"action": "patient.read"})
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    manifest, csv_bytes = json.loads(archive.read("manifest.json")), archive.read("events.csv")
    verify = reverse("compliance_web:manifest-verify")
    ok = client.post(verify, {"manifest": io.BytesIO(json.dumps(manifest).encode()), "file": io.BytesIO(csv_bytes)})
    assert ok.status_code == 200 and b'data-testid="manifest-ok"' in ok.content
    manifest["filters"] = {}
    forged = client.post(verify, {"manifest": io.BytesIO(json.dumps(manifest).encode())})
    assert forged.status_code == 400 and b'data-code="manifest_signature_invalid"' in forged.content


def test_chain_verification_page_shows_a_broken_chain(officer_a, event_a):
    client = logged_in(officer_a)
    intact = client.post(reverse("compliance_web:chains"))
    assert b'data-testid="chains-verdict" data-ok="true"' in intact.content
    from django.db import connection
    _tamper("UPDATE privacy_auditevent SET action = 'patient.list' WHERE id = %s",
            [event_a.pk.hex if connection.vendor == "sqlite" else event_a.pk])
    broken = client.post(reverse("compliance_web:chains"))
    assert b'data-testid="chains-verdict" data-ok="false"' in broken.content


def test_officer_works_a_case_in_the_web_admin(officer_a, hospital_a):
    with tenant_context(hospital_a.pk):
        case = ViolationCase.objects.create(hospital=hospital_a, rule="bulk_access", severity="high",
                                            summary="planted", dedup_key="web-1", evidence={"records": 99})
    client = logged_in(officer_a)
    url = reverse("compliance_web:case", args=[case.pk])
    assert b"&quot;records&quot;: 99" in client.get(url).content
    assert client.post(url, {"action": "investigate"}).status_code == 302
    assert client.post(url, {"action": "resolve", "resolution": "justified", "note": "audit of ward"}).status_code == 302
    case.refresh_from_db()
    assert (case.status, case.resolution) == ("resolved", "justified")
    again = client.post(url, {"action": "investigate"})
    assert again.status_code == 409
    listing = client.get(reverse("compliance_web:cases"))
    assert f'data-case="{case.pk}"'.encode() in listing.content
    assert b'data-rule="bulk_access"' in client.get(reverse("compliance_web:report")).content
