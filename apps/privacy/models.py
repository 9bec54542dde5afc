import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("success")
    DENIED = "denied", _("denied")
    NOT_FOUND = "not_found", _("not found")
    INVALID = "invalid", _("invalid")
    ERROR = "error", _("error")


class AuditEvent(models.Model):
    """One read or write of protected data, or a security-relevant act.

    Append-only: the application role holds no UPDATE/DELETE on the table, a
    PostgreSQL trigger refuses both to everyone, and each event carries a keyed hash
    over its content and its predecessor's hash, so `manage.py audit_verify` finds an
    edited, removed or reordered row. Each hospital's events are spread over a few
    chains ("hospital:<id>/<n>"), and events of no hospital over "platform/<n>"
    (see chain.chain_name).

    Actor, hospital and patient are plain ids rather than foreign keys: events must
    outlive the rows they talk about.
    """

    append_only = True

    # Made by the application, not the database: with no database-generated column
    # the INSERT needs no RETURNING, and so no SELECT right on the new row. That lets
    # any context append (a failed login belongs to no hospital yet) while row-level
    # security still lets each hospital read only its own events.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chain = models.CharField(max_length=40)
    sequence = models.BigIntegerField()
    occurred_at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=32, blank=True)
    hospital_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS)
    detail = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain", "sequence"], name="audit_event_chain_sequence_unique")]
        indexes = [models.Index(fields=["hospital_id", "occurred_at"], name="audit_hospital_time")]
        ordering = ["chain", "sequence"]

    def __str__(self):
        return f"{self.chain}#{self.sequence} {self.action} {self.outcome}"


class AuditChainHead(models.Model):
    """The newest link of each chain. Writers lock this row, which serialises appends
    to one chain (and only that chain), and the verifier checks the chain ends here,
    so cutting events off the end is found too."""

    chain = models.CharField(max_length=40, unique=True)
    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)
