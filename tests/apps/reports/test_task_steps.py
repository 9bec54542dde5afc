"""The analysis task's steps without the OCR: which engine it uses, what a redelivered
or superseded task does, and that a file it cannot read fails the report with a reason
instead of failing the worker."""

import pytest
from django.core.files.storage import default_storage

from apps.reports.models import LabReport
from apps.reports.services import MAX_RUNS_PER_ATTEMPT, lab_report_begin, lab_report_store_analysis
from apps.reports.tasks import lab_report_analyse
from apps.tenancy.context import tenant_context

from .conftest import analysis_from_truth, make_preliminary, set_hospital_setting, submit

pytestmark = pytest.mark.django_db


def _report(report) -> LabReport:
    with tenant_context(report.hospital_id):
        return LabReport.objects.get(pk=report.pk)


def test_the_hospitals_engine_setting_is_used(hospital_a, doctor_a, patient_a):
    set_hospital_setting(hospital_a, "algorithm.ocr", "rapidocr")
    report = submit(patient_a, doctor_a)
    with tenant_context(hospital_a.pk):
        job = lab_report_begin(report_id=report.pk, attempt=report.attempt)
    assert (job.engine, job.sex) == ("rapidocr", "M")
    assert _report(report).status == "processing"


def test_the_default_engine_is_tesseract(hospital_a, doctor_a, patient_a):
    report = submit(patient_a, doctor_a)
    with tenant_context(hospital_a.pk):
        assert lab_report_begin(report_id=report.pk, attempt=report.attempt).engine == "tesseract"


def test_the_engine_setting_refuses_unknown_engines(hospital_a):
    from apps.core.exceptions import DomainError

    with pytest.raises(DomainError) as refused:
        set_hospital_setting(hospital_a, "algorithm.ocr", "abbyy")
    assert refused.value.code == "invalid"


def test_a_redelivered_task_after_the_analysis_does_nothing(doctor_a, patient_a):
    report = make_preliminary(patient_a, doctor_a)
    result = lab_report_analyse.apply(kwargs={"hospital_id": report.hospital_id, "report_id": report.pk,
                                              "attempt": report.attempt}).get()
    assert result == "skipped" and _report(report).status == "preliminary"


def test_a_superseded_attempt_writes_nothing(hospital_a, doctor_a, patient_a):
    report = submit(patient_a, doctor_a)
    with tenant_context(hospital_a.pk):
        lab_report_begin(report_id=report.pk, attempt=1)
        LabReport.objects.filter(pk=report.pk).update(attempt=2)  # requeued meanwhile
        assert lab_report_store_analysis(report_id=report.pk, attempt=1, result=analysis_from_truth()) is None
    assert _report(report).status == "processing" and not _report(report).items.exists()


def test_a_file_that_cannot_be_read_fails_the_report_not_the_worker(hospital_a, doctor_a, patient_a):
    report = submit(patient_a, doctor_a)
    # Given the stored file was damaged on the storage after the upload
    with default_storage.open(report.file.name, "wb") as stored:
        stored.write(b"\xff\xd8\xff" + b"\x00" * 100)
    # when the task runs, it returns normally
    result = lab_report_analyse.apply(kwargs={"hospital_id": hospital_a.pk, "report_id": report.pk,
                                              "attempt": report.attempt}).get()
    # and the report says why it failed
    failed = _report(report)
    assert (result, failed.status, failed.failure_code) == ("failed", "failed", "unreadable_image")


def test_a_file_that_keeps_killing_the_worker_is_failed(hospital_a, doctor_a, patient_a):
    report = submit(patient_a, doctor_a)
    with tenant_context(hospital_a.pk):
        # each begin without an end is a worker that died mid-analysis (acks_late redelivers)
        for _ in range(MAX_RUNS_PER_ATTEMPT):
            assert lab_report_begin(report_id=report.pk, attempt=report.attempt) is not None
        assert lab_report_begin(report_id=report.pk, attempt=report.attempt) is None
    assert (_report(report).status, _report(report).failure_code) == ("failed", "analysis_crashed")


def test_a_task_without_a_hospital_fails_loudly(db):
    with pytest.raises(ValueError, match="hospital_id"):
        lab_report_analyse.apply(kwargs={"report_id": 1, "attempt": 1}, throw=True)


def test_a_task_for_another_hospital_finds_nothing(hospital_b, doctor_a, patient_a):
    report = submit(patient_a, doctor_a)
    assert lab_report_analyse.apply(kwargs={"hospital_id": hospital_b.pk, "report_id": report.pk,
                                            "attempt": 1}).get() == "skipped"
    assert _report(report).status == "received"


def test_the_task_goes_to_the_ml_queue():
    from hospital_platform.celery import app

    assert app.amqp.router.route({}, lab_report_analyse.name)["queue"].name == "ml"
