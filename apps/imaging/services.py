"""Imaging writes: upload, analysis (run by the ml worker), review and sign-off.

Every write is audited. An upload is read and checked completely before anything is
stored, so a refused file leaves nothing behind; files written before a failed
transaction are deleted again.
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.exceptions import ConflictError, DomainError, PermissionDeniedError
from apps.privacy.services import audit_record
from apps.realtime.publish import publish
from apps.tenancy.roles import Role
from ml.imaging.config import CLASS_NAMES
from ml.imaging.errors import ImagingInputError

from .models import Finding, ImagingStudy, Review

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 64 * 1024 * 1024
REVIEWER_ROLES = (Role.DOCTOR,)
EVENT_ROLES = (Role.DOCTOR,)


class ImagingInputRefused(DomainError):
    """An upload that is not a radiograph we can read; `code` comes from ml.imaging."""


def _display_png(values: np.ndarray, low: float, high: float) -> bytes:
    """Modality values -> 16 bits spread over the red (high byte) and green (low byte) channels."""
    import cv2

    scaled = np.round((values - low) / max(high - low, 1e-6) * 65535).astype(np.uint16)
    bgr = np.dstack([np.zeros_like(scaled, np.uint8), (scaled & 0xFF).astype(np.uint8), (scaled >> 8).astype(np.uint8)])
    ok, encoded = cv2.imencode(".png", bgr)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return encoded.tobytes()


# ml.imaging has no Django, so its messages are English; users get these, by error code.
REFUSAL_MESSAGES = {
    "not_an_image": gettext_lazy("The file is not a DICOM, PNG or JPEG image we can read."),
    "dicom_without_pixels": gettext_lazy("The DICOM file has no pixel data (a report or presentation state?). "
                                  "Upload the image itself."),
    "unsupported_transfer_syntax": gettext_lazy("This DICOM file is compressed in a way we cannot decode. Export it "
                                         "uncompressed (Explicit VR Little Endian) and upload it again."),
    "unsupported_bit_depth": gettext_lazy("16-bit PNG images are not accepted: upload the DICOM file, or an 8-bit PNG "
                                   "or JPEG."),
    "image_too_large": gettext_lazy("The image is too large (at most 12,000 pixels a side and 50 million pixels). "
                             "Export it at a lower resolution."),
    "file_too_large": gettext_lazy("The file is larger than 64 MB."),
}


def _refuse(error: ImagingInputError, *, hospital_id, actor, role, patient_id, name) -> None:
    audit_record(action="imaging_study.upload", actor=actor, role=role, hospital_id=hospital_id,
                 object_type="imaging_study", patient_id=patient_id, outcome="invalid",
                 detail={"code": error.code, "reason": error.message[:300], "file": name[:100]})
    raise ImagingInputRefused(str(REFUSAL_MESSAGES.get(error.code, error.message)), code=error.code)


def imaging_study_upload(*, hospital_id: int, patient, data: bytes, filename: str = "", modality: str = "DX",
                         body_part: str = "CHEST", actor=None, role: str = "") -> ImagingStudy:
    """Reads and checks the file, stores source + display image + study row, audits, and
    queues the analysis on the `ml` queue once committed."""
    from ml.imaging.reading import read_image

    if len(data) > MAX_UPLOAD_BYTES:
        _refuse(ImagingInputError("larger than 64 MB", code="file_too_large"),
                hospital_id=hospital_id, actor=actor, role=role, patient_id=patient.pk, name=filename)
    try:
        xray = read_image(data)
    except ImagingInputError as error:
        _refuse(error, hospital_id=hospital_id, actor=actor, role=role, patient_id=patient.pk, name=filename)
    low, high = float(xray.values.min()), float(xray.values.max())
    digest = hashlib.sha256(data).hexdigest()
    suffix = {"dicom": "dcm", "png": "png", "jpeg": "jpg"}[xray.kind]
    study = ImagingStudy(hospital_id=hospital_id, patient=patient, modality=modality, body_part=body_part,
                         source_kind=xray.kind, source_sha256=digest, width=xray.width, height=xray.height,
                         value_min=low, value_max=high, window_center=xray.window_center,
                         window_width=xray.window_width, dicom_metadata=xray.metadata,
                         deidentified_metadata=xray.deidentified_metadata, uploaded_by=actor)
    stored = []
    try:
        with transaction.atomic():
            study.source_file.save(f"{digest[:16]}.{suffix}", ContentFile(data), save=False)
            stored.append(study.source_file)
            study.display_file.save(f"{digest[:16]}.png", ContentFile(_display_png(xray.values, low, high)),
                                    save=False)
            stored.append(study.display_file)
            study.save()
            audit_record(action="imaging_study.upload", actor=actor, role=role, hospital_id=hospital_id,
                         object_type="imaging_study", object_id=study.pk, patient_id=patient.pk,
                         detail={"kind": xray.kind, "width": xray.width, "height": xray.height})
            transaction.on_commit(lambda: _queue_analysis(hospital_id, study.pk))
    except Exception:
        for file in stored:
            file.storage.delete(file.name)
        raise
    return study


def _queue_analysis(hospital_id: int, study_id: int) -> None:
    from .tasks import imaging_study_analyse

    imaging_study_analyse.delay(hospital_id=hospital_id, study_id=study_id)


def _event_data(study: ImagingStudy) -> dict:
    return {"study": study.pk, "patient": study.patient_id, "status": study.status,
            "findings": study.findings.count(), "lesion_probability": study.lesion_probability,
            "error_code": study.error_code}


def _announce(study: ImagingStudy, event_type: str) -> None:
    """Doctors of the hospital and a staff uploader get the full result (one envelope, one
    id, even when a doctor is in both groups); a patient who uploaded their own study
    hears only that its status changed: preliminary findings are not for patients."""
    uploader = study.uploaded_by_id
    if uploader and uploader == study.patient.user_id:
        publish(event_type, {"study": study.pk, "status": study.status}, user_ids=[uploader])
        uploader = None
    publish(event_type, _event_data(study), user_ids=[uploader] if uploader else [], hospital_id=study.hospital_id,
            roles=EVENT_ROLES)


def _load_image8(study: ImagingStudy) -> np.ndarray:
    from ml.imaging.reading import read_image

    with study.source_file.open("rb") as handle:
        return read_image(handle.read()).display()


def imaging_study_analyse(*, study_id: int) -> ImagingStudy | None:
    """Runs the models on an uploaded study and stores preliminary findings.
    Idempotent: a study already analysed (a redelivered task) is left as it is."""
    from ml.imaging.gradcam import overlay_png

    from .inference import analyse

    study = ImagingStudy.objects.filter(pk=study_id).first()
    if study is None or study.status != ImagingStudy.Status.UPLOADED:
        return study
    try:
        analysis = analyse(_load_image8(study))
    except Exception as error:  # a model or file failure must not leave the study hanging
        logger.exception("imaging analysis failed for study %s", study_id)
        with transaction.atomic():
            updated = ImagingStudy.objects.select_for_update().get(pk=study_id)
            if updated.status != ImagingStudy.Status.UPLOADED:
                return updated
            updated.status = ImagingStudy.Status.FAILED
            updated.error_code = getattr(error, "code", "analysis_failed")[:64]
            updated.save(update_fields=["status", "error_code"])
            audit_record(action="imaging_study.analyse", hospital_id=updated.hospital_id, object_type="imaging_study",
                         object_id=updated.pk, patient_id=updated.patient_id, outcome="error",
                         detail={"code": updated.error_code})
            _announce(updated, "imaging.study.failed")
        return updated
    heatmap = ContentFile(overlay_png(analysis.heatmap))
    with transaction.atomic():
        study = ImagingStudy.objects.select_for_update().get(pk=study_id)
        if study.status != ImagingStudy.Status.UPLOADED:
            return study
        Finding.objects.bulk_create([
            Finding(hospital_id=study.hospital_id, study=study, label=found.label, x1=found.box[0], y1=found.box[1],
                    x2=found.box[2], y2=found.box[3], confidence=round(found.confidence, 4),
                    model_name=analysis.detector_name, model_version=analysis.detector_version)
            for found in analysis.findings if found.box[2] > found.box[0] and found.box[3] > found.box[1]])
        study.heatmap_file.save(f"{study.source_sha256[:16]}-cam.png", heatmap, save=False)
        study.status = ImagingStudy.Status.PRELIMINARY
        study.lesion_probability = round(analysis.lesion_probability, 4)
        study.lesion_threshold = round(analysis.lesion_threshold, 4)
        study.classifier_model = analysis.classifier_label[:120]
        study.detector_model = f"{analysis.detector_name}:{analysis.detector_version}"[:120]
        study.embedding = analysis.embedding
        study.analysed_at = timezone.now()
        study.save()
        audit_record(action="imaging_study.analyse", hospital_id=study.hospital_id, object_type="imaging_study",
                     object_id=study.pk, patient_id=study.patient_id,
                     detail={"findings": len(analysis.findings), "detector": study.detector_model,
                             "classifier": study.classifier_model})
        _announce(study, "imaging.study.analysed")
    return study


def _box(value, field: str) -> list[float]:
    try:
        box = [float(v) for v in value]
    except (TypeError, ValueError):
        box = []
    if len(box) != 4 or box[2] <= box[0] or box[3] <= box[1]:
        raise DomainError(_("A box is [x1, y1, x2, y2] with x2 > x1 and y2 > y1."), code="invalid_box",
                          fields={field: [_("invalid box")]})
    return box


def imaging_study_review(*, study: ImagingStudy, reviewer, role: str, decision: str, comment: str = "",
                         verdicts: list[dict] | None = None, added: list[dict] | None = None) -> Review:
    """A doctor's decision. Signing off needs a verdict on every model finding; every
    verdict other than "confirmed", every added finding and every rejection of the whole
    study needs a reason. Nothing changes unless everything is valid."""
    if role not in REVIEWER_ROLES:
        raise PermissionDeniedError(_("Only a doctor may review imaging findings."))
    verdicts, added = verdicts or [], added or []
    with transaction.atomic():
        study = ImagingStudy.objects.select_for_update().get(pk=study.pk)
        if study.status != ImagingStudy.Status.PRELIMINARY:
            raise ConflictError(_("Only a study with preliminary findings can be reviewed."), code="not_reviewable")
        findings = {f.pk: f for f in study.findings.filter(verdict=Finding.Verdict.PENDING)}
        now, changes = timezone.now(), []
        if decision == Review.Decision.REJECT:
            if not comment.strip():
                raise DomainError(_("Say why the study is rejected."), code="reason_required",
                                  fields={"comment": [_("required")]})
            for finding in findings.values():
                finding.verdict, finding.reason = Finding.Verdict.REJECTED, comment
                changes.append({"finding": finding.pk, "verdict": "rejected", "reason": comment})
        elif decision == Review.Decision.SIGN_OFF:
            seen = set()
            for index, item in enumerate(verdicts):
                finding = findings.get(item.get("id"))
                if finding is None or finding.pk in seen:
                    raise DomainError(_("Finding %(id)s is not a pending finding of this study.") % {"id": item.get("id")},
                                      code="unknown_finding", fields={f"findings[{index}].id": [_("unknown")]})
                seen.add(finding.pk)
                verdict, reason = item.get("verdict"), str(item.get("reason", "")).strip()
                if verdict not in (Finding.Verdict.CONFIRMED, Finding.Verdict.EDITED, Finding.Verdict.REJECTED):
                    raise DomainError(_("A verdict is confirmed, edited or rejected."), code="invalid_verdict",
                                      fields={f"findings[{index}].verdict": [_("invalid")]})
                if verdict != Finding.Verdict.CONFIRMED and not reason:
                    raise DomainError(_("Give a reason for every edited or rejected finding."), code="reason_required",
                                      fields={f"findings[{index}].reason": [_("required")]})
                change = {"finding": finding.pk, "verdict": verdict, "reason": reason}
                if verdict == Finding.Verdict.EDITED:
                    box = _box(item.get("box"), f"findings[{index}].box")
                    label = item.get("label", finding.label)
                    if label not in CLASS_NAMES:
                        raise DomainError(_("Unknown finding class."), code="invalid_label",
                                          fields={f"findings[{index}].label": [_("invalid")]})
                    finding.original = {"label": finding.label, "box": finding.box}
                    finding.label = label
                    finding.x1, finding.y1, finding.x2, finding.y2 = box
                    change.update(original=finding.original, box=box, label=label)
                finding.verdict, finding.reason = verdict, reason
                changes.append(change)
            missing = sorted(set(findings) - seen)
            if missing:
                raise DomainError(_("Every finding needs a verdict before sign-off."), code="findings_unreviewed",
                                  fields={"findings": [str(pk) for pk in missing]})
        else:
            raise DomainError(_("The decision is sign_off or reject."), code="invalid_decision",
                              fields={"decision": [_("invalid")]})
        new_findings = []
        if decision == Review.Decision.SIGN_OFF:
            for index, item in enumerate(added):
                reason = str(item.get("reason", "")).strip()
                if item.get("label") not in CLASS_NAMES or not reason:
                    raise DomainError(_("An added finding needs a known class and a reason."), code="invalid_added",
                                      fields={f"added[{index}]": [_("invalid")]})
                box = _box(item.get("box"), f"added[{index}].box")
                new_findings.append(Finding(hospital_id=study.hospital_id, study=study, label=item["label"],
                                            x1=box[0], y1=box[1], x2=box[2], y2=box[3], verdict=Finding.Verdict.ADDED,
                                            reason=reason, reviewed_by=reviewer, reviewed_at=now))
                changes.append({"verdict": "added", "label": item["label"], "box": box, "reason": reason})
        for finding in findings.values():
            finding.reviewed_by, finding.reviewed_at = reviewer, now
        Finding.objects.bulk_update(list(findings.values()),
                                    ["verdict", "reason", "label", "x1", "y1", "x2", "y2", "original", "reviewed_by",
                                     "reviewed_at"])
        Finding.objects.bulk_create(new_findings)
        review = Review.objects.create(hospital_id=study.hospital_id, study=study, reviewer=reviewer,
                                       decision=decision, comment=comment, changes=changes)
        study.status = (ImagingStudy.Status.SIGNED_OFF if decision == Review.Decision.SIGN_OFF
                        else ImagingStudy.Status.REJECTED)
        study.signed_off_at, study.signed_off_by = now, reviewer
        study.save(update_fields=["status", "signed_off_at", "signed_off_by"])
        audit_record(action=f"imaging_study.{decision}", actor=reviewer, role=role, hospital_id=study.hospital_id,
                     object_type="imaging_study", object_id=study.pk, patient_id=study.patient_id,
                     detail={"review": review.pk, "overrides": sum(1 for c in changes if c["verdict"] != "confirmed")})
        _announce(study, "imaging.study.reviewed")
    return review
