"""Booking rules, per hospital (hospital admins may override the platform's values)."""

from django.utils.translation import gettext_lazy as _

from apps.configuration.registry import declare
from apps.tenancy.roles import Role

WINDOW_DAYS = declare(
    "booking.window_days", "int", default=14, minimum=1, maximum=90,
    description=_("How many days ahead patients may book (a slot opens this many days before its date)."))
RELEASE_TIME = declare(
    "booking.release_time", "time", default="08:00",
    description=_("Time of day at which the slots of a newly opened day are released."))
CANCELLATION_DEADLINE_TIME = declare(
    "booking.cancellation_deadline_time", "time", default="15:00",
    description=_("Patients may cancel until this time on the working day before the appointment."))
CANCELLATION_DEADLINE_WORKING_DAYS = declare(
    "booking.cancellation_deadline_working_days", "int", default=1, minimum=0, maximum=14,
    description=_("How many working days (Monday to Friday) before the appointment the cancellation deadline falls; "
                  "0 means the appointment day itself."))
ONE_PER_EXPERT_PER_DAY = declare(
    "booking.one_per_expert_per_day", "bool", default=True,
    description=_("A patient may hold only one booking per expert per day."))
FORBID_OVERLAP = declare(
    "booking.forbid_overlapping", "bool", default=True,
    description=_("A patient may not hold two bookings whose times overlap."))
NO_SHOW_LIMIT = declare(
    "booking.no_show_limit", "int", default=3, minimum=0, maximum=20,
    description=_("No-shows within the counting window that block a patient from booking (0: never block)."))
NO_SHOW_WINDOW_DAYS = declare(
    "booking.no_show_window_days", "int", default=90, minimum=1, maximum=365,
    description=_("How far back no-shows are counted (days)."))
NO_SHOW_BLOCK_DAYS = declare(
    "booking.no_show_block_days", "int", default=30, minimum=1, maximum=365,
    description=_("How long a patient who reached the no-show limit may not book (days after the last no-show)."))
NO_SHOW_GRACE_MINUTES = declare(
    "booking.no_show_grace_minutes", "int", default=30, minimum=0, maximum=24 * 60,
    description=_("Minutes after a slot ends before an appointment without check-in is marked a no-show."))
WAITLIST_OFFER_MINUTES = declare(
    "booking.waitlist_offer_minutes", "int", default=30, minimum=1, maximum=24 * 60,
    description=_("How long a patient offered a freed place has to accept it before it moves on (minutes)."))
WECHAT_TEMPLATE_ID = declare(
    "booking.wechat_template_id", "str", default="", max_length=64,
    description=_("WeChat subscribe-message template for appointment notices (empty: in-app notices only)."),
    editable_by={Role.PLATFORM_ADMIN}, hospital_may_override=False)
