from django.core.management.base import BaseCommand

from apps.booking.periodic import booking_schedule_ensure
from apps.compliance.schedule import compliance_schedule_ensure
from apps.configuration.monitoring.schedule import alert_schedule_ensure


class Command(BaseCommand):
    help = ("Create the platform's built-in periodic jobs (monitoring alerts, booking sweep) in django-celery-beat "
            "if they are missing. Idempotent; never changes a job that exists. Run after `migrate`.")

    def handle(self, *args, **options):
        for ensure in (alert_schedule_ensure, booking_schedule_ensure):
            job, created = ensure()
            verb = "created" if created else "already present"
            self.stdout.write(f"{job.name} ({job.task}): {verb}")
        for job, created in compliance_schedule_ensure():
            self.stdout.write(f"{job.name} ({job.task}): {'created' if created else 'already present'}")
