from django.conf import settings
from django.db import models

from apps.tenancy.models import TenantOwnedModel


class PlatformSettingValue(models.Model):
    """A platform-wide value replacing a setting's declared default for every hospital
    that has not set its own."""

    key = models.CharField(max_length=120, unique=True)
    value = models.JSONField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.key} = {self.value!r} (platform)"


class HospitalSettingValue(TenantOwnedModel):
    """One hospital's own value for a setting."""

    key = models.CharField(max_length=120)
    value = models.JSONField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hospital", "key"], name="hospital_setting_key_unique")]

    def __str__(self):
        return f"{self.key} = {self.value!r} (hospital {self.hospital_id})"


class ModelArtifact(models.Model):
    """A trained model file, registered once for the whole platform.

    The checksum is taken at registration and checked again before every
    activation, so a file swapped or corrupted on storage is never put into service.
    """

    task = models.CharField(max_length=64, db_index=True)
    name = models.CharField(max_length=120)
    version = models.CharField(max_length=40)
    storage_path = models.CharField(max_length=500, help_text="Path on the shared model storage.")
    checksum_sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    metrics = models.JSONField(default=dict, blank=True)
    training_data = models.TextField(blank=True)
    model_card = models.TextField(blank=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "name", "-registered_at"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="model_name_version_unique")]

    def __str__(self):
        return f"{self.name}:{self.version} ({self.task})"


class ModelDeployment(TenantOwnedModel):
    """Which artifact serves a task at a hospital, as the active model or in shadow.

    Rows are never edited in place: activating retires the current row and adds a
    new one, so the history is the deployment log and rollback reads it.
    """

    class Mode(models.TextChoices):
        ACTIVE = "active"
        SHADOW = "shadow"

    task = models.CharField(max_length=64)
    artifact = models.ForeignKey(ModelArtifact, on_delete=models.PROTECT, related_name="deployments")
    mode = models.CharField(max_length=8, choices=Mode.choices)
    activated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    activated_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-activated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "task", "mode"], condition=models.Q(retired_at__isnull=True),
                                    name="one_current_deployment_per_mode"),
        ]

    def __str__(self):
        return f"{self.task} {self.mode}: {self.artifact}"


class ShadowComparison(TenantOwnedModel):
    """One input run by both the active and the shadow model, and how they differed."""

    task = models.CharField(max_length=64)
    active_artifact = models.ForeignKey(ModelArtifact, on_delete=models.PROTECT, related_name="+")
    shadow_artifact = models.ForeignKey(ModelArtifact, on_delete=models.PROTECT, related_name="+")
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    active_output = models.JSONField()
    shadow_output = models.JSONField()
    agreement = models.FloatField(help_text="1.0 = identical outputs; 0.0 = nothing in common.")
    active_ms = models.FloatField()
    shadow_ms = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
