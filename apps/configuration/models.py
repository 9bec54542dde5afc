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
