"""The hospital's booking rules, read from configuration in its tenant context."""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from apps.configuration.selectors import setting_value


@dataclass(frozen=True)
class BookingRules:
    window_days: int
    release_time: datetime.time
    cancellation_deadline_time: datetime.time
    cancellation_deadline_working_days: int
    one_per_expert_per_day: bool
    forbid_overlap: bool
    no_show_limit: int
    no_show_window_days: int
    no_show_block_days: int
    no_show_grace_minutes: int
    waitlist_offer_minutes: int

    def opens_at(self, slot_date: datetime.date) -> datetime.datetime:
        """When a day's slots become bookable: `window_days` before it, at the release time."""
        day = slot_date - datetime.timedelta(days=self.window_days)
        return timezone.make_aware(datetime.datetime.combine(day, self.release_time))

    def cancellation_deadline(self, slot_date: datetime.date) -> datetime.datetime:
        """The deadline time on the Nth working day (Monday to Friday) before the date.
        Public holidays are not known to the platform; a hospital that needs them sets
        the rule by hand around them."""
        day, left = slot_date, self.cancellation_deadline_working_days
        while left > 0:
            day -= datetime.timedelta(days=1)
            if day.weekday() < 5:
                left -= 1
        return timezone.make_aware(datetime.datetime.combine(day, self.cancellation_deadline_time))


def booking_rules() -> BookingRules:
    """The current hospital's rules (call inside its tenant context)."""
    return BookingRules(
        window_days=setting_value("booking.window_days"),
        release_time=setting_value("booking.release_time"),
        cancellation_deadline_time=setting_value("booking.cancellation_deadline_time"),
        cancellation_deadline_working_days=setting_value("booking.cancellation_deadline_working_days"),
        one_per_expert_per_day=setting_value("booking.one_per_expert_per_day"),
        forbid_overlap=setting_value("booking.forbid_overlapping"),
        no_show_limit=setting_value("booking.no_show_limit"),
        no_show_window_days=setting_value("booking.no_show_window_days"),
        no_show_block_days=setting_value("booking.no_show_block_days"),
        no_show_grace_minutes=setting_value("booking.no_show_grace_minutes"),
        waitlist_offer_minutes=setting_value("booking.waitlist_offer_minutes"),
    )
