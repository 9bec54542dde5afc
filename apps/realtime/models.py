from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import TenantOwnedModel


class Notice(TenantOwnedModel):
    """A message a hospital administrator sends to the hospital's staff, delivered
    live over the WebSocket by a worker and kept for those who were offline."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), max_length=4000)
    # ",doctor,hospital_admin,": delimited so a role filter is one portable LIKE
    # (SQLite has no JSON containment lookup).
    audience = models.CharField(_("audience"), max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title

    @property
    def roles(self) -> list[str]:
        return [role for role in self.audience.split(",") if role]

    @staticmethod
    def audience_for(roles) -> str:
        return "," + ",".join(sorted(set(roles))) + ","
