"""Writes for health tips: content (sanitised, tagged), images (resized), favourites,
reading history and the collaborative-filtering neighbours. Writes that touch a
patient (favourites, reads) are audited, and so is every content change."""

import uuid

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.configuration.selectors import setting_value
from apps.core.exceptions import DomainError
from apps.privacy.services import audit_record

from . import recommend
from .images import ImageRejected, process_image
from .models import Favourite, Tip, TipImage, TipNeighbour, TipRead, TipTag
from .sanitise import UnsafeHtml, sanitise
from .tagging import tip_tags


class ImageTooLargeError(DomainError):
    status_code = 413
    code = "image_too_large"


def _clean_body(body_html: str) -> str:
    try:
        cleaned = sanitise(body_html)
    except UnsafeHtml as error:
        message = _("The text contains scripts or other active content (%(found)s); remove it and save again.") % {
            "found": error.args[0]}
        raise DomainError(message, code="unsafe_html", fields={"body_html": [message]}) from None
    if not cleaned.strip():
        raise DomainError(_("The tip has no text."), code="invalid", fields={"body_html": [_("Write the tip's text.")]})
    return cleaned


def tip_save(*, hospital_id: int, actor, role: str, title: str, category: str, body_html: str, summary: str = "",
             published: bool = False, tip: Tip | None = None) -> Tip:
    """Create (tip None) or change a tip. The HTML is checked and sanitised and the tags
    recomputed before anything is written."""
    if category not in Tip.Category.values:
        raise DomainError(_("Unknown category."), code="invalid", fields={"category": [_("Unknown category.")]})
    body = _clean_body(body_html)
    tags = tip_tags(title=title, body_html=body)
    with transaction.atomic():
        creating = tip is None
        tip = tip or Tip(hospital_id=hospital_id, author=actor if getattr(actor, "is_authenticated", False) else None)
        tip.title, tip.category, tip.summary, tip.body_html = title.strip(), category, summary.strip(), body
        tip.tags, tip.published = tags, published
        tip.save()
        TipTag.objects.filter(tip=tip).delete()
        TipTag.objects.bulk_create([TipTag(hospital_id=hospital_id, tip=tip, tag=entry["tag"], kind=entry["kind"])
                                    for entry in tags])
        audit_record(action="tip.create" if creating else "tip.update", actor=actor, role=role,
                     hospital_id=hospital_id, object_type="tip", object_id=tip.pk,
                     detail={"title": tip.title, "published": published, "tags": [entry["tag"] for entry in tags]})
    return tip


def tip_image_upload(*, hospital_id: int, actor, role: str, upload) -> TipImage:
    """Store an uploaded image resized and recompressed; refuse it before reading when
    it is over tips.max_image_mb."""
    limit_mb = setting_value("tips.max_image_mb")
    if upload.size > limit_mb * 1024 * 1024:
        raise ImageTooLargeError(_("The image is larger than %(limit)s MB; choose a smaller one.") % {"limit": limit_mb},
                                 fields={"image": [_("At most %(limit)s MB.") % {"limit": limit_mb}]})
    try:
        processed = process_image(upload.read(), max_side=setting_value("tips.image_max_side"),
                                  quality=setting_value("tips.image_quality"))
    except ImageRejected as error:
        code = error.args[0]
        message = (_("The image has too many pixels.") if code == "image_too_large"
                   else _("This is not an image we can use; upload a JPEG, PNG, WebP or GIF."))
        exception = ImageTooLargeError if code == "image_too_large" else DomainError
        raise exception(message, code=code, fields={"image": [message]}) from None
    with transaction.atomic():
        image = TipImage(hospital_id=hospital_id, width=processed.width, height=processed.height,
                         bytes=len(processed.content), original_bytes=upload.size,
                         uploaded_by=actor if getattr(actor, "is_authenticated", False) else None)
        image.file.save(f"{hospital_id}/{uuid.uuid4().hex}.jpg", ContentFile(processed.content), save=False)
        image.save()
        audit_record(action="tip_image.upload", actor=actor, role=role, hospital_id=hospital_id,
                     object_type="tip_image", object_id=image.pk,
                     detail={"bytes": image.bytes, "original_bytes": image.original_bytes})
    return image


def favourite_add(*, tip: Tip, patient, actor, role: str) -> tuple[Favourite, bool]:
    """Save a tip for the patient; saving it again changes nothing."""
    with transaction.atomic():
        existing = Favourite.objects.filter(tip=tip, patient=patient).first()
        if existing:
            return existing, False
        try:
            with transaction.atomic():
                favourite = Favourite.objects.create(hospital_id=tip.hospital_id, tip=tip, patient=patient)
        except IntegrityError:  # saved concurrently by another request
            return Favourite.objects.get(tip=tip, patient=patient), False
        audit_record(action="tip.favourite", actor=actor, role=role, hospital_id=tip.hospital_id, object_type="tip",
                     object_id=tip.pk, patient_id=patient.pk)
    return favourite, True


def favourite_remove(*, tip: Tip, patient, actor, role: str) -> bool:
    with transaction.atomic():
        removed, _by_model = Favourite.objects.filter(tip=tip, patient=patient).delete()
        if removed:
            audit_record(action="tip.unfavourite", actor=actor, role=role, hospital_id=tip.hospital_id,
                         object_type="tip", object_id=tip.pk, patient_id=patient.pk)
    return bool(removed)


def tip_read_record(*, tip: Tip, patient, actor, role: str) -> TipRead:
    """Add to the patient's reading history (one row per tip, counted)."""
    now = timezone.now()
    with transaction.atomic():
        updated = TipRead.objects.filter(tip=tip, patient=patient).update(last_read_at=now, count=F("count") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    TipRead.objects.create(hospital_id=tip.hospital_id, tip=tip, patient=patient, first_read_at=now,
                                           last_read_at=now)
            except IntegrityError:
                TipRead.objects.filter(tip=tip, patient=patient).update(last_read_at=now, count=F("count") + 1)
        audit_record(action="tip.read", actor=actor, role=role, hospital_id=tip.hospital_id, object_type="tip",
                     object_id=tip.pk, patient_id=patient.pk)
    return TipRead.objects.get(tip=tip, patient=patient)


def interactions() -> dict[int, dict[int, float]]:
    """{patient: {tip: weight}} for the current hospital: reads and favourites."""
    weights: dict[int, dict[int, float]] = {}
    for patient_id, tip_id in TipRead.objects.values_list("patient_id", "tip_id").iterator(chunk_size=5000):
        weights.setdefault(patient_id, {})[tip_id] = recommend.READ_WEIGHT
    for patient_id, tip_id in Favourite.objects.values_list("patient_id", "tip_id").iterator(chunk_size=5000):
        row = weights.setdefault(patient_id, {})
        row[tip_id] = row.get(tip_id, 0.0) + recommend.FAVOURITE_WEIGHT
    return weights


def neighbours_refresh(*, hospital_id: int) -> int:
    """Recompute the hospital's item-item neighbours (the periodic job); returns rows."""
    similarities = recommend.item_similarities(interactions())
    rows = [TipNeighbour(hospital_id=hospital_id, tip_id=tip, neighbour_id=neighbour, score=score)
            for tip, pairs in similarities.items() for neighbour, score in pairs]
    with transaction.atomic():
        TipNeighbour.objects.all().delete()
        TipNeighbour.objects.bulk_create(rows, batch_size=5000)
    return len(rows)
