from django.core.management.base import BaseCommand

from apps.compliance.anomaly import anomalies_detect
from apps.compliance.detection import detect_new_events
from apps.tenancy.context import tenant_context

from ._hospital import hospital_by_slug


class Command(BaseCommand):
    help = "Run the violation rules (and, with --anomalies, the autoencoder) over one hospital's new audit events."

    def add_arguments(self, parser):
        parser.add_argument("--hospital", required=True, help="hospital slug")
        parser.add_argument("--anomalies", action="store_true")

    def handle(self, *args, hospital, anomalies=False, **options):
        hospital = hospital_by_slug(hospital)
        with tenant_context(hospital.pk):
            result = detect_new_events()
            self.stdout.write(f"rules: {result['events']} events read, cases opened: {result['opened'] or 'none'}")
            if anomalies:
                opened = anomalies_detect()
                self.stdout.write(f"autoencoder: {len(opened)} cases opened")
