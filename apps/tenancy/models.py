from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .managers import TenantManager
from .roles import Role


class Hospital(models.Model):
    """The tenant."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("hospital")
        verbose_name_plural = _("hospitals")

    def __str__(self):
        return self.name


class TenantOwnedModel(models.Model):
    """Base of every tenant-owned model: a non-null hospital, a scoped default
    manager, and (through its migration) row-level security on PostgreSQL.

    `objects` sees the current hospital's rows only. `unscoped_objects` sees every
    hospital's rows for code already inside `unscoped()` or a management command;
    its name is meant to make a reviewer stop and look.
    """

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="+", verbose_name=_("hospital"))

    objects = TenantManager()
    unscoped_objects = models.Manager()

    class Meta:
        abstract = True


class Department(TenantOwnedModel):
    name = models.CharField(_("name"), max_length=120)
    code = models.CharField(_("code"), max_length=32)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["hospital", "code"], name="department_code_unique_per_hospital")]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A user's role at a hospital. Not tenant-scoped: it is what decides the tenant,
    so it is read before any tenant context exists."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "hospital"], name="one_membership_per_user_and_hospital")]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self):
        return f"{self.user} @ {self.hospital} ({self.role})"
