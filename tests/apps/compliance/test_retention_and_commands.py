import datetime
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.compliance.exports import audit_export_create
from apps.compliance.retention import operational_data_purge
from apps.compliance.selectors import EventFilters
from apps.privacy.models import AuditEvent
from apps.privacy.services import audit_record
from apps.realtime.models import Notice
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role


def _notice(hospital, days_old):
    with tenant_context(hospital.pk):
        notice = Notice.objects.create(hospital=hospital, title="t", body="b", audience=",doctor,")
        Notice.objects.filter(pk=notice.pk).update(created_at=timezone.now() - datetime.timedelta(days=days_old))
    return notice


def test_purge_removes_only_old_operational_rows_and_is_audited(hospital_a, hospital_b):
    old, recent, other_hospital = _notice(hospital_a, 400), _notice(hospital_a, 10), _notice(hospital_b, 400)
    audit_record(action="patient.read", hospital_id=hospital_a.pk)
    events_before = AuditEvent.objects.exclude(action="compliance.retention_purge").count()
    counts = operational_data_purge(hospital_id=hospital_a.pk)
    assert counts["notices"] == 1
    remaining = set(Notice.unscoped_objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, other_hospital.pk} and old.pk not in remaining
    assert AuditEvent.objects.exclude(action="compliance.retention_purge").count() == events_before
    purge = AuditEvent.objects.get(action="compliance.retention_purge")
    assert purge.detail["removed"]["notices"] == 1 and purge.hospital_id == hospital_a.pk


def test_a_dry_run_removes_nothing(hospital_a):
    _notice(hospital_a, 400)
    out = StringIO()
    call_command("compliance_purge", "--hospital", hospital_a.slug, "--dry-run", stdout=out)
    assert "would remove" in out.getvalue() and Notice.unscoped_objects.count() == 1


def test_audit_retention_cannot_be_set_below_six_years(hospital_a):
    from apps.configuration.services import setting_set
    from apps.core.exceptions import DomainError

    with pytest.raises(DomainError) as error:
        setting_set(key="compliance.audit_retention_years", value=5, actor=None, role=Role.PLATFORM_ADMIN,
                    hospital_id=None)
    assert error.value.code == "invalid"


def test_ensure_periodic_tasks_creates_the_compliance_jobs_once(db):
    from django_celery_beat.models import PeriodicTask

    call_command("ensure_periodic_tasks", stdout=StringIO())
    call_command("ensure_periodic_tasks", stdout=StringIO())
    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"compliance.detect_all", "compliance.anomalies_all", "compliance.purge_all"} <= tasks
    assert PeriodicTask.objects.filter(task="compliance.detect_all").count() == 1


def test_the_verify_command_accepts_a_genuine_manifest_and_refuses_a_forged_one(tmp_path, hospital_a, officer_a):
    audit_record(action="patient.read", hospital_id=hospital_a.pk)
    with tenant_context(hospital_a.pk):
        content, export = audit_export_create(filters=EventFilters(), actor=officer_a, role=Role.COMPLIANCE_OFFICER)
    manifest, csv_file = tmp_path / "manifest.json", tmp_path / "events.csv"
    manifest.write_text(json.dumps(export.manifest))
    csv_file.write_bytes(content)
    out = StringIO()
    call_command("compliance_verify_manifest", str(manifest), "--file", str(csv_file), "--hospital", hospital_a.slug,
                 stdout=out)
    assert out.getvalue().startswith("OK")
    manifest.write_text(json.dumps(dict(export.manifest, row_count=export.manifest["row_count"] + 1)))
    with pytest.raises(CommandError, match="manifest_signature_invalid"):
        call_command("compliance_verify_manifest", str(manifest), "--hospital", hospital_a.slug, stdout=StringIO())


def test_the_detect_command_runs_the_rules(hospital_a):
    out = StringIO()
    call_command("compliance_detect", "--hospital", hospital_a.slug, stdout=out)
    assert out.getvalue().startswith("rules:")
