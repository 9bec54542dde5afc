"""Lab-report writes: upload, the analysis task's steps, sign-off and reprocessing.

Status: received -> processing -> preliminary -> final, or -> failed (reprocess puts a
failed report back to received). Every step that changes the status publishes
`lab_report.status`; a finished analysis publishes `lab_report.ready` and a sign-off
`lab_report.final` with the report (see docs/reports.md for who receives what).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.configuration.selectors import setting_value
from apps.core.exceptions import ConflictError, DomainError, NotFoundError
from apps.patients.models import Patient
from apps.privacy.services import audit_record
from apps.realtime.publish import publish
from apps.tenancy.roles import Role

from .analysis import ImageRejected, ReportAnalysis, upload_limits
from .errors import UploadRefused, failure_message
from .models import LabItem, LabReport, ReportInterpretation, SignOff
from .selectors import patients_see_preliminary

logger = logging.getLogger(__name__)

# A file whose analysis killed the worker this many times is failed, not retried forever.
MAX_RUNS_PER_ATTEMPT = 3


def lab_report_submit(*, patient: Patient, data: bytes, actor, role: str) -> LabReport:
    """Validate the upload (type from its bytes, sizes from its header, decodable, not
    blank), store it under a random name and queue the analysis after commit.
    Refusals raise UploadRefused and store nothing."""
    from ml.labreport.images import decode_upload

    try:
        decoded = decode_upload(data, limits=upload_limits())
    except ImageRejected as refusal:
        raise UploadRefused(refusal.code, fields={"file": [refusal.message]}) from None
    report = LabReport(hospital_id=patient.hospital_id, patient=patient, uploaded_by=actor, uploaded_role=role,
                       content_type=decoded.content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                       page_count=decoded.page_count)
    report.file.save("upload", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            report.save(force_insert=True)
            audit_record(action="lab_report.upload", actor=actor, role=role, hospital_id=report.hospital_id,
                         object_type="lab_report", object_id=report.pk, patient_id=patient.pk,
                         detail={"content_type": report.content_type, "size": report.size, "sha256": report.sha256,
                                 "pages": report.page_count})
            _publish_status(report)
            _queue_analysis(report)
    except BaseException:
        # The row never committed: take the file away with it.
        report.file.storage.delete(report.file.name)
        raise
    return report


def _queue_analysis(report: LabReport) -> None:
    from .tasks import lab_report_analyse

    hospital_id, report_id, attempt = report.hospital_id, report.pk, report.attempt
    transaction.on_commit(lambda: lab_report_analyse.delay(hospital_id=hospital_id, report_id=report_id,
                                                           attempt=attempt))


@dataclass(frozen=True)
class AnalysisJob:
    """What the task needs to analyse a report outside any transaction."""

    report_id: int
    attempt: int
    file_name: str
    engine: str
    sex: str | None
    age: int | None


def _age_on(birth_date: datetime.date | None, today: datetime.date) -> int | None:
    if birth_date is None:
        return None
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def lab_report_begin(*, report_id: int, attempt: int) -> AnalysisJob | None:
    """Mark the report processing and say what to analyse, or None when there is
    nothing to do (deleted, requeued since, already analysed: a redelivered task)."""
    with transaction.atomic():
        report = LabReport.objects.select_for_update().select_related("patient").filter(pk=report_id).first()
        if report is None or report.attempt != attempt or report.status not in (LabReport.Status.RECEIVED,
                                                                                 LabReport.Status.PROCESSING):
            return None
        report.runs += 1
        if report.runs > MAX_RUNS_PER_ATTEMPT:
            _fail(report, "analysis_crashed", f"the analysis was started {report.runs - 1} times without finishing")
            return None
        report.status = LabReport.Status.PROCESSING
        report.processing_started_at = timezone.now()
        report.save(update_fields=["runs", "status", "processing_started_at"])
        _publish_status(report)
        patient = report.patient
        return AnalysisJob(report_id=report.pk, attempt=report.attempt, file_name=report.file.name,
                           engine=setting_value("algorithm.ocr"),
                           sex=patient.sex if patient.sex in (Patient.Sex.FEMALE, Patient.Sex.MALE) else None,
                           age=_age_on(patient.birth_date, timezone.localdate()))


def _locked_for_attempt(report_id: int, attempt: int) -> LabReport | None:
    report = LabReport.objects.select_for_update().filter(pk=report_id).first()
    if report is None or report.attempt != attempt or report.status != LabReport.Status.PROCESSING:
        return None  # requeued or finished by another delivery meanwhile: its result stands
    return report


def lab_report_store_analysis(*, report_id: int, attempt: int, result: ReportAnalysis) -> LabReport | None:
    """Items, interpretation and the preliminary status in one transaction."""
    with transaction.atomic():
        report = _locked_for_attempt(report_id, attempt)
        if report is None:
            return None
        LabItem.objects.filter(report=report).delete()
        LabItem.objects.bulk_create([
            LabItem(hospital_id=report.hospital_id, report=report, position=position, code=item.code,
                    name=item.name[:100], value=item.value, value_text=item.value_text[:64], unit=item.unit[:32],
                    range_low=item.range_low, range_high=item.range_high, range_source=item.range_source[:16],
                    flag=item.flag, confidence=item.confidence)
            for position, item in enumerate(result.items)])
        interpretation = result.interpretation
        ReportInterpretation.objects.update_or_create(
            report=report, defaults={"hospital_id": report.hospital_id, "content": interpretation.as_dict(),
                                     "urgency": interpretation.urgency, "model_version": interpretation.model_version})
        report.status = LabReport.Status.PRELIMINARY
        report.failure_code = report.failure_reason = ""
        report.engine, report.engine_version = result.engine, result.engine_version
        report.model_versions = {"ocr": f"{result.engine}:{result.engine_version}",
                                 "interpretation": interpretation.model_version}
        report.timings_ms = {step: round(ms, 1) for step, ms in result.timings_ms.items()}
        report.rotation, report.page_count, report.pages_analysed = (result.rotation, result.page_count,
                                                                     result.pages_analysed)
        report.warnings, report.text_lines = result.warnings, result.lines[:500]
        report.analysed_at = timezone.now()
        report.save()
        audit_record(action="lab_report.analyse", role="system", hospital_id=report.hospital_id,
                     object_type="lab_report", object_id=report.pk, patient_id=report.patient_id,
                     detail={"items": len(result.items), "engine": report.engine,
                             "model_versions": report.model_versions})
        _publish_status(report)
        _publish_report(report, "lab_report.ready")
    return report


def lab_report_fail(*, report_id: int, attempt: int, code: str, reason: str,
                    engine: str = "", timings_ms: dict | None = None) -> LabReport | None:
    with transaction.atomic():
        report = _locked_for_attempt(report_id, attempt)
        if report is None:
            return None
        report.engine = engine or report.engine
        report.timings_ms = timings_ms or {}
        _fail(report, code, reason)
    return report


def _fail(report: LabReport, code: str, reason: str) -> None:
    LabItem.objects.filter(report=report).delete()
    ReportInterpretation.objects.filter(report=report).delete()
    report.status = LabReport.Status.FAILED
    report.failure_code, report.failure_reason = code, reason[:1000]
    report.analysed_at = timezone.now()
    report.save()
    audit_record(action="lab_report.fail", role="system", hospital_id=report.hospital_id, object_type="lab_report",
                 object_id=report.pk, patient_id=report.patient_id, detail={"code": code, "reason": reason[:200]})
    _publish_status(report)


_ITEM_EDITABLE = ("value", "value_text", "unit", "range_low", "range_high", "flag")


def lab_report_sign_off(*, report_id: int, actor, role: str, items: list[dict] | None = None,
                        conclusion: dict | None = None, urgency: str | None = None, comment: str = "") -> LabReport:
    """A doctor makes a preliminary report final, with their corrections. The edits are
    applied and kept as a diff on the sign-off and in the audit event."""
    with transaction.atomic():
        report = LabReport.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFoundError(_("No such lab report."))
        if report.status == LabReport.Status.FINAL:
            raise ConflictError(_("The report is already signed off."), code="already_signed_off")
        if report.status != LabReport.Status.PRELIMINARY:
            raise ConflictError(_("Only an analysed (preliminary) report can be signed off."),
                                code="report_not_ready")
        edits = {"items": _apply_item_edits(report, items or [])}
        interpretation_changes = _apply_interpretation_edits(report, conclusion or {}, urgency)
        if interpretation_changes:
            edits["interpretation"] = interpretation_changes
        SignOff.objects.create(hospital_id=report.hospital_id, report=report, signed_by=actor, edits=edits,
                               comment=comment)
        report.status = LabReport.Status.FINAL
        report.save(update_fields=["status"])
        audit_record(action="lab_report.sign_off", actor=actor, role=role, hospital_id=report.hospital_id,
                     object_type="lab_report", object_id=report.pk, patient_id=report.patient_id,
                     detail={"edits": edits, "comment": bool(comment)})
        _publish_status(report)
        _publish_report(report, "lab_report.final")
    return report


def _apply_item_edits(report: LabReport, edits: list[dict]) -> list[dict]:
    by_id = {item.pk: item for item in report.items.all()}
    unknown = [edit.get("id") for edit in edits if edit.get("id") not in by_id]
    if unknown:
        raise DomainError(_("Some edited items are not on this report."), code="invalid",
                          fields={"items": [f"not on this report: {unknown}"]})
    diff = []
    for edit in edits:
        item = by_id[edit["id"]]
        changes = {}
        for field in _ITEM_EDITABLE:
            if field in edit and edit[field] != getattr(item, field):
                changes[field] = [getattr(item, field), edit[field]]
                setattr(item, field, edit[field])
        if "value" in changes and "value_text" not in edit and item.value is not None:
            item.value_text = f"{item.value:g}"
        if changes:
            item.save()
            diff.append({"id": item.pk, "code": item.code, "changes": changes})
    return diff


def _apply_interpretation_edits(report: LabReport, conclusion: dict, urgency: str | None) -> dict:
    interpretation = ReportInterpretation.objects.filter(report=report).first()
    if interpretation is None:
        return {}
    content, changes = interpretation.content, {}
    for language in ("text_zh", "text_en"):
        new = conclusion.get(language)
        if new is not None and new != content["conclusion"].get(language):
            changes[f"conclusion.{language}"] = [content["conclusion"].get(language), new]
            content["conclusion"][language] = new
    if urgency and urgency != interpretation.urgency:
        changes["urgency"] = [interpretation.urgency, urgency]
        interpretation.urgency = content["urgency"] = urgency
    if changes:
        interpretation.content = content
        interpretation.save(update_fields=["content", "urgency"])
    return changes


def lab_report_reprocess(*, report_id: int, actor, role: str) -> LabReport:
    """Queue a failed report again (e.g. after the hospital switched engines)."""
    with transaction.atomic():
        report = LabReport.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFoundError(_("No such lab report."))
        if report.status != LabReport.Status.FAILED:
            raise ConflictError(_("Only a failed report can be reprocessed."), code="not_failed")
        previous = report.failure_code
        report.attempt += 1
        report.runs = 0
        report.status = LabReport.Status.RECEIVED
        report.failure_code = report.failure_reason = ""
        report.save(update_fields=["attempt", "runs", "status", "failure_code", "failure_reason"])
        audit_record(action="lab_report.reprocess", actor=actor, role=role, hospital_id=report.hospital_id,
                     object_type="lab_report", object_id=report.pk, patient_id=report.patient_id,
                     detail={"previous_failure": previous, "attempt": report.attempt})
        _publish_status(report)
        _queue_analysis(report)
    return report


def _publish_status(report: LabReport) -> None:
    data = {"id": report.pk, "patient": report.patient_id, "status": report.status,
            "failure_code": report.failure_code,
            "failure_message": failure_message(report.failure_code) if report.failure_code else ""}
    publish("lab_report.status", data, user_ids=_uploader_outside_doctors_group(report),
            hospital_id=report.hospital_id, roles=[Role.DOCTOR])


def _uploader_outside_doctors_group(report: LabReport) -> list[int]:
    # A doctor uploader is in the doctors' group already; one copy of an event is enough.
    if report.uploaded_by_id and report.uploaded_role != Role.DOCTOR:
        return [report.uploaded_by_id]
    return []


def _publish_report(report: LabReport, event_type: str) -> None:
    """The whole report to the hospital's doctors and a staff uploader; to the patient
    only once they may see it (after sign-off, or at once where the hospital allows)."""
    from .serializers import LabReportDetailSerializer

    report = LabReport.objects.select_related("patient", "sign_off").prefetch_related("items").get(pk=report.pk)
    data = LabReportDetailSerializer(report).data
    users = set()
    if report.uploaded_role != Role.PATIENT:
        users.update(_uploader_outside_doctors_group(report))
    if report.status == LabReport.Status.FINAL or patients_see_preliminary():
        users.update(uid for uid in (report.patient.user_id,
                                     report.uploaded_by_id if report.uploaded_role == Role.PATIENT else None) if uid)
    publish(event_type, data, user_ids=sorted(users), hospital_id=report.hospital_id, roles=[Role.DOCTOR])
