"""Health tips written by hospital staff, their tags, images, and what patients did
with them (favourites, reads), plus the item-item neighbours the recommender uses."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import TenantOwnedModel


class Tip(TenantOwnedModel):
    class Category(models.TextChoices):
        PREVENTION = "prevention", _("disease prevention")
        MEDICATION = "medication", _("medication guidance")
        DIET = "diet", _("diet")
        EXERCISE = "exercise", _("exercise")

    title = models.CharField(_("title"), max_length=120)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body_html = models.TextField(_("body"))  # sanitised with nh3 before it is stored
    tags = models.JSONField(_("tags"), default=list, blank=True)  # [{"tag": "高血压", "kind": "disease"}]
    published = models.BooleanField(_("published"), default=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["hospital", "published", "category"], name="tip_published_category")]
        verbose_name = _("health tip")
        verbose_name_plural = _("health tips")

    def __str__(self):
        return self.title

    @property
    def tag_names(self) -> list[str]:
        return [entry["tag"] for entry in self.tags]


class TipTag(TenantOwnedModel):
    """One row per (tip, tag), so "tips with any of these tags" is one indexed query."""

    tip = models.ForeignKey(Tip, on_delete=models.CASCADE, related_name="tag_rows")
    tag = models.CharField(max_length=40)
    kind = models.CharField(max_length=16)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tip", "tag"], name="tip_tag_once")]
        indexes = [models.Index(fields=["hospital", "tag"], name="tip_tag_lookup")]


class TipImage(TenantOwnedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(upload_to="tips/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField()
    original_bytes = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)


class Favourite(TenantOwnedModel):
    tip = models.ForeignKey(Tip, on_delete=models.CASCADE, related_name="favourites")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["tip", "patient"], name="favourite_once")]


class TipRead(TenantOwnedModel):
    """Reading history: one row per patient and tip, with the last time and count."""

    tip = models.ForeignKey(Tip, on_delete=models.CASCADE, related_name="reads")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    first_read_at = models.DateTimeField()
    last_read_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-last_read_at"]
        constraints = [models.UniqueConstraint(fields=["tip", "patient"], name="tip_read_once")]
        indexes = [models.Index(fields=["hospital", "patient", "-last_read_at"], name="tip_read_patient")]


class TipNeighbour(TenantOwnedModel):
    """Item-based collaborative filtering: the most similar tips of each tip by who
    read and favourited both (cosine), recomputed by a periodic job."""

    tip = models.ForeignKey(Tip, on_delete=models.CASCADE, related_name="neighbours")
    neighbour = models.ForeignKey(Tip, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tip", "neighbour"], name="tip_neighbour_once")]
