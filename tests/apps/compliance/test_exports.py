import copy

import pytest

from apps.compliance.exports import ManifestError, audit_export_create, hospital_chains_verify, manifest_verify
from apps.compliance.selectors import EventFilters
from apps.privacy.services import audit_record
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.apps.privacy.test_audit_chain import _tamper


@pytest.fixture
def events_a(hospital_a, doctor_a, patient_a):
    return [audit_record(action="patient.read", actor=doctor_a, role=Role.DOCTOR, hospital_id=hospital_a.pk,
                         object_type="patient", object_id=patient_a.pk, patient_id=patient_a.pk) for _ in range(3)]


def _export(hospital, officer, **filters):
    with tenant_context(hospital.pk):
        return audit_export_create(filters=EventFilters(**filters), actor=officer, role=Role.COMPLIANCE_OFFICER)


def _verify(hospital, manifest, content=None):
    with tenant_context(hospital.pk):
        return manifest_verify(manifest=manifest, content=content)


def test_an_export_holds_the_filtered_events_and_verifies(hospital_a, officer_a, events_a, patient_a):
    content, export = _export(hospital_a, officer_a, patient_id=patient_a.pk, action="patient.read")
    lines = content.decode().strip().split("\n")
    assert len(lines) == 1 + 3 and export.manifest["row_count"] == 3
    report = _verify(hospital_a, export.manifest, content)
    assert report["ok"] and report["file_checked"]


def test_a_forged_manifest_is_refused(hospital_a, officer_a, events_a):
    content, export = _export(hospital_a, officer_a)
    forged = copy.deepcopy(export.manifest)
    forged["row_count"] = 1
    with pytest.raises(ManifestError) as error:
        _verify(hospital_a, forged)
    assert error.value.code == "manifest_signature_invalid"


def test_an_edited_file_does_not_match_its_manifest(hospital_a, officer_a, events_a):
    content, export = _export(hospital_a, officer_a)
    with pytest.raises(ManifestError) as error:
        _verify(hospital_a, export.manifest, content.replace(b"patient.read", b"patient.list", 1))
    assert error.value.code == "manifest_file_mismatch"


def test_a_chain_rewritten_after_the_export_is_found(hospital_a, officer_a, events_a):
    content, export = _export(hospital_a, officer_a)
    chain, head = next(iter(export.manifest["chain_heads"].items()))
    _tamper("UPDATE privacy_auditevent SET hash = %s WHERE chain = %s AND sequence = %s",
            ["f" * 64, chain, head["sequence"]])
    with pytest.raises(ManifestError) as error:
        _verify(hospital_a, export.manifest)
    assert error.value.code == "manifest_chain_mismatch"


def test_another_hospitals_manifest_is_refused(hospital_a, hospital_b, officer_a, events_a):
    _content, export = _export(hospital_a, officer_a)
    with pytest.raises(ManifestError) as error:
        _verify(hospital_b, export.manifest)
    assert error.value.code == "manifest_other_hospital"


def test_something_that_is_not_a_manifest_is_refused(hospital_a):
    with pytest.raises(ManifestError) as error:
        _verify(hospital_a, {"hello": "world"})
    assert error.value.code == "manifest_malformed"


def test_chain_verification_finds_a_tampered_row(hospital_a, officer_a, events_a):
    _tamper("UPDATE privacy_auditevent SET object_id = '999' WHERE id = %s",
            [events_a[1].pk.hex if _sqlite() else events_a[1].pk])
    with tenant_context(hospital_a.pk):
        results = hospital_chains_verify(actor=officer_a, role=Role.COMPLIANCE_OFFICER)
    broken = [r for r in results if not r["ok"]]
    assert len(broken) == 1 and "edited" in broken[0]["reason"]


def _sqlite():
    from django.db import connection

    return connection.vendor == "sqlite"
