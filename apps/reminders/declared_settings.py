"""Reminder settings, per hospital. The catch-up rule is here so clinicians can see
and change it: a missed dose is taken now if less than `catch_up_max_fraction` of the
dosing interval has passed, otherwise skipped."""

from django.utils.translation import gettext_lazy as _

from apps.configuration.registry import declare

CATCH_UP_MAX_FRACTION = declare(
    "reminders.catch_up_max_fraction", "float", default=0.5, minimum=0.1, maximum=0.9,
    description=_("Catch-up rule for a missed dose: take it now if less than this share of the dosing interval "
                  "has passed since it was due, otherwise skip it and never double up."))
MISSED_AFTER_MINUTES = declare(
    "reminders.missed_after_minutes", "int", default=120, minimum=15, maximum=24 * 60,
    description=_("A dose nobody marked this many minutes after it was due is recorded as missed."))
TAKEN_LATE_AFTER_MINUTES = declare(
    "reminders.taken_late_after_minutes", "int", default=60, minimum=5, maximum=24 * 60,
    description=_("A dose marked taken this many minutes or more after it was due counts as taken late."))
SNOOZE_MINUTES = declare(
    "reminders.snooze_minutes", "int", default=10, minimum=1, maximum=120,
    description=_("How long a snooze postpones a dose reminder (minutes), unless the patient chooses."))
MAX_SNOOZES = declare(
    "reminders.max_snoozes", "int", default=3, minimum=0, maximum=10,
    description=_("How many times one dose may be snoozed."))
REFILL_DAYS = declare(
    "reminders.refill_days", "int", default=3, minimum=1, maximum=30,
    description=_("Remind the patient to refill when the remaining supply lasts fewer days than this."))
WECHAT_TEMPLATE_ID = declare(
    "reminders.wechat_template_id", "str", default="medication-reminder",
    description=_("The WeChat subscribe-message template used for dose reminders."))
DISPATCH_LEASE_SECONDS = declare(
    "reminders.dispatch_lease_seconds", "int", default=300, minimum=10, maximum=3600,
    description=_("A queued or claimed dose reminder not finished within this many seconds is taken up again "
                  "(a worker died); a claimed one is not sent over WeChat twice."),
    hospital_may_override=False)
