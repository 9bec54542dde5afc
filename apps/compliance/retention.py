"""Retention: audit events are kept at least six years (never purged here; the
database refuses to delete them anyway); older operational data is purged by
policy, and every purge is itself an audit event with what it removed."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.configuration.selectors import setting_value
from apps.privacy.models import AuditEvent
from apps.privacy.services import audit_record
from apps.tenancy.context import hospital_scope


def audit_retention_status(*, hospital_id: int) -> dict:
    """The oldest event held and the date before which events may be archived (none
    are deleted by the platform; archiving is a DBA procedure after this date)."""
    with hospital_scope(hospital_id):
        years = setting_value("compliance.audit_retention_years")
        oldest = AuditEvent.objects.filter(hospital_id=hospital_id).order_by("occurred_at").values_list(
            "occurred_at", flat=True).first()
    keep_from = timezone.now() - timedelta(days=365 * years + years // 4)
    return {"retention_years": years, "oldest_event": oldest, "archivable_before": keep_from}


def operational_data_purge(*, hospital_id: int, dry_run: bool = False, actor=None) -> dict:
    """Delete one hospital's operational rows older than their retention settings:
    staff notices, shadow-model comparisons, and (platform-wide, by its own setting)
    expired or revoked API tokens of the hospital's members."""
    from apps.accounts.models import ApiToken
    from apps.configuration.models import ShadowComparison
    from apps.realtime.models import Notice
    from apps.tenancy.models import Membership

    now = timezone.now()
    with hospital_scope(hospital_id), transaction.atomic():
        notice_cutoff = now - timedelta(days=setting_value("compliance.retention_notice_days"))
        shadow_cutoff = now - timedelta(days=setting_value("compliance.retention_shadow_days"))
        token_cutoff = now - timedelta(days=setting_value("compliance.retention_token_days"))
        members = Membership.objects.filter(hospital_id=hospital_id).values("user_id")
        targets = {
            "notices": Notice.objects.filter(created_at__lt=notice_cutoff),
            "shadow_comparisons": ShadowComparison.objects.filter(created_at__lt=shadow_cutoff),
            "api_tokens": ApiToken.objects.filter(user_id__in=members).filter(
                Q(expires_at__lt=token_cutoff) | Q(revoked_at__lt=token_cutoff)),
        }
        counts = {name: queryset.count() for name, queryset in targets.items()}
        if not dry_run:
            for queryset in targets.values():
                queryset.delete()
        audit_record(action="compliance.retention_purge", actor=actor, hospital_id=hospital_id,
                     detail={"dry_run": dry_run, "removed": counts,
                             "cutoffs": {"notices": notice_cutoff.isoformat(), "shadow": shadow_cutoff.isoformat(),
                                         "tokens": token_cutoff.isoformat()}})
    return counts
