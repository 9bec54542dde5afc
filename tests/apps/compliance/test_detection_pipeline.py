"""Detection as it runs in production: the Celery task, the cases pushed to
compliance officers over the channel layer, the autoencoder over stored events,
and (PostgreSQL) row-level security on the compliance tables."""

import datetime
import random
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.utils import timezone

from apps.compliance.models import ConsentRecord, ViolationCase
from apps.compliance.tasks import detect as detect_task
from apps.patients.services import patient_create
from apps.privacy.models import AuditEvent
from apps.realtime.groups import staff_group
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.factories import member_of

from .conftest import recent_local, record


def test_the_celery_task_opens_cases_and_pushes_them_to_officers(hospital_a, doctor_a, patient_a,
                                                                 django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(staff_group(hospital_a.pk, Role.COMPLIANCE_OFFICER), channel)
    record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=recent_local(10))
    # when the task runs (as the periodic job queues it)
    with django_capture_on_commit_callbacks(execute=True):
        result = detect_task.apply(kwargs={"hospital_id": hospital_a.pk}).get()
    # then the case is open and the officers' group got it
    assert result["opened"] == {"no_care_relationship": 1}
    message = async_to_sync(layer.receive)(channel)
    assert message["event"]["type"] == "compliance.cases_opened"
    assert message["event"]["data"]["cases"][0]["rule"] == "no_care_relationship"


def _stored_event(hospital, actor, moment, patient_id, sequence):
    return AuditEvent(id=uuid.uuid4(), chain=f"hospital:{hospital.pk}/test", sequence=sequence, occurred_at=moment,
                      actor_id=actor.pk, actor_username=actor.username, role=Role.DOCTOR, hospital_id=hospital.pk,
                      action="patient.read", object_type="patient", object_id=str(patient_id), patient_id=patient_id,
                      ip="10.0.0.1", previous_hash="0" * 64, hash="0" * 64)


def test_the_autoencoder_opens_a_case_with_its_drivers(hospital_a):
    pytest.importorskip("keras")
    from dataclasses import replace

    from apps.compliance.anomaly import anomalies_detect
    from ml.access_anomaly.config import AutoencoderConfig

    rng = random.Random(5)
    doctors = [member_of(hospital_a, Role.DOCTOR) for _ in range(12)]
    snooper = doctors[0]
    start = timezone.now() - datetime.timedelta(days=5)
    events, sequence = [], 0
    for day in range(4):
        for doctor in doctors[1:]:
            for _n in range(12):
                sequence += 1
                moment = (start + datetime.timedelta(days=day)).replace(hour=2) + datetime.timedelta(
                    minutes=rng.randint(0, 500))
                events.append(_stored_event(hospital_a, doctor, moment, rng.randint(1, 30), sequence))
    night = (start + datetime.timedelta(days=2)).replace(hour=17)  # 01:00 China Standard Time
    for n in range(250):
        sequence += 1
        events.append(_stored_event(hospital_a, snooper, night + datetime.timedelta(seconds=30 * n), 10_000 + n,
                                    sequence))
    AuditEvent.objects.bulk_create(events)
    with tenant_context(hospital_a.pk):
        opened = anomalies_detect(days=7, config=replace(AutoencoderConfig(), epochs=25, robust_z_threshold=4.0))
    assert [case.subject_user_id for case in opened] == [snooper.pk]
    assert opened[0].rule == "access_anomaly" and opened[0].evidence["drivers"]


@pytest.mark.postgres
def test_compliance_tables_are_private_to_their_hospital(postgres, hospital_a, hospital_b):
    patient_b = patient_create(hospital_id=hospital_b.pk, name="李四")
    with tenant_context(hospital_b.pk):
        ViolationCase.objects.create(hospital=hospital_b, rule="bulk_access", severity="high", summary="b",
                                     dedup_key="b-1")
        ConsentRecord.objects.create(hospital=hospital_b, patient=patient_b, purpose="research", decision="granted",
                                     channel="paper", recorded_at=timezone.now())
    with tenant_context(hospital_a.pk), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM compliance_violationcase")
        cases = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM compliance_consentrecord")
        consents = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM privacy_auditevent WHERE hospital_id = %s", [hospital_b.pk])
        foreign_events = cursor.fetchone()[0]
    assert (cases, consents, foreign_events) == (0, 0, 0)


@pytest.mark.postgres
def test_the_database_refuses_to_edit_audit_rows_and_a_tampered_row_is_found(postgres, hospital_a, doctor_a,
                                                                           patient_a, officer_a):
    from django.db import DatabaseError, transaction

    from apps.compliance.exports import hospital_chains_verify
    from tests.apps.privacy.test_audit_chain import _tamper

    event = record(hospital_a, actor=doctor_a, patient=patient_a)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE privacy_auditevent SET outcome = 'denied' WHERE id = %s", [event.pk])
    _tamper("UPDATE privacy_auditevent SET outcome = 'denied' WHERE id = %s", [event.pk])
    with tenant_context(hospital_a.pk):
        results = hospital_chains_verify(actor=officer_a, role=Role.COMPLIANCE_OFFICER)
    assert [r["ok"] for r in results if r["events_checked"]].count(False) == 1


def test_the_periodic_job_runs_the_rules_for_every_hospital(hospital_a, hospital_b, doctor_a, doctor_b, patient_a):
    from apps.compliance.tasks import detect_all

    patient_b = patient_create(hospital_id=hospital_b.pk, name="李四")
    record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=recent_local(10))
    record(hospital_b, actor=doctor_b, patient=patient_b, occurred_at=recent_local(10))
    assert detect_all.apply().get() == 2
    from .conftest import cases
    assert [c.patient_id for c in cases(hospital_a)] == [patient_a.pk]
    assert [c.patient_id for c in cases(hospital_b)] == [patient_b.pk]
