from django.core.management.base import BaseCommand

from apps.compliance.retention import audit_retention_status, operational_data_purge
from apps.tenancy.models import Hospital

from ._hospital import hospital_by_slug


class Command(BaseCommand):
    help = ("Purge operational data older than the retention settings (notices, shadow comparisons, expired "
            "tokens), per hospital, audited. Audit events are never purged.")

    def add_arguments(self, parser):
        parser.add_argument("--hospital", help="hospital slug (default: every active hospital)")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, hospital=None, dry_run=False, **options):
        hospitals = [hospital_by_slug(hospital)] if hospital else list(Hospital.objects.filter(active=True))
        for item in hospitals:
            counts = operational_data_purge(hospital_id=item.pk, dry_run=dry_run)
            status = audit_retention_status(hospital_id=item.pk)
            verb = "would remove" if dry_run else "removed"
            self.stdout.write(f"{item.slug}: {verb} {counts}; audit events kept "
                              f"{status['retention_years']} years (oldest {status['oldest_event']})")
