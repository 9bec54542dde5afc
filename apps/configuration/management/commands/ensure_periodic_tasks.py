from django.core.management.base import BaseCommand

from apps.booking.periodic import booking_schedule_ensure
from apps.compliance.schedule import compliance_schedule_ensure
from apps.configuration.monitoring.schedule import alert_schedule_ensure
from apps.partners.periodic import partner_schedules_ensure
from apps.rarecases.periodic import rare_case_schedules_ensure
from apps.reminders.periodic import reminder_schedules_ensure
from apps.tips.periodic import tip_schedules_ensure


class Command(BaseCommand):
    help = ("Create the platform's built-in periodic jobs (monitoring alerts, booking sweep, compliance rules, "
            "medication reminders, health-tip similarities, rare cases, partner share sweep) in django-celery-beat "
            "if they are missing. Idempotent; never changes a job that exists. Run after `migrate`.")

    def handle(self, *args, **options):
        jobs = [alert_schedule_ensure(), booking_schedule_ensure(), *reminder_schedules_ensure(),
                *tip_schedules_ensure(), *compliance_schedule_ensure(), *rare_case_schedules_ensure(),
                *partner_schedules_ensure()]
        for job, created in jobs:
            verb = "created" if created else "already present"
            self.stdout.write(f"{job.name} ({job.task}): {verb}")
