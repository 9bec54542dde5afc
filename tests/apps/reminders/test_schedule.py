"""Wall-clock times become UTC instants in the plan's own zone, never the server's;
the catch-up rule is a plain function of lateness and the dosing interval."""

import datetime

import pytest

from apps.reminders import schedule

UTC = datetime.timezone.utc


def test_shanghai_eight_in_the_morning_is_midnight_utc_whatever_the_server_zone(settings):
    # Given a server configured for another zone
    settings.TIME_ZONE = "America/New_York"

    # When the 08:00 doses of a Shanghai plan are laid out across a US daylight-saving change
    instants = schedule.dose_instants(times=["08:00"], tz_name="Asia/Shanghai", start=datetime.date(2026, 3, 7),
                                      end=None, once=False, from_day=datetime.date(2026, 3, 7),
                                      to_day=datetime.date(2026, 3, 9))

    # Then each is 00:00 UTC: Shanghai has no daylight saving
    assert instants == [datetime.datetime(2026, 3, day, 0, 0, tzinfo=UTC) for day in (7, 8, 9)]


def test_a_zone_with_daylight_saving_keeps_the_wall_clock_time():
    instants = schedule.dose_instants(times=["08:00"], tz_name="America/New_York", start=datetime.date(2026, 3, 7),
                                      end=None, once=False, from_day=datetime.date(2026, 3, 7),
                                      to_day=datetime.date(2026, 3, 9))
    assert [at.hour for at in instants] == [13, 12, 12]


def test_a_one_off_plan_has_doses_on_its_start_day_only():
    instants = schedule.dose_instants(times=["20:00", "08:00"], tz_name="Asia/Shanghai",
                                      start=datetime.date(2026, 11, 22), end=datetime.date(2026, 11, 30), once=True,
                                      from_day=datetime.date(2026, 11, 22), to_day=datetime.date(2026, 11, 25))
    assert instants == [datetime.datetime(2026, 11, 22, 0, tzinfo=UTC), datetime.datetime(2026, 11, 22, 12, tzinfo=UTC)]


@pytest.mark.parametrize("value", ["24:00", "23:60", "7:30", "0800", "", "ab:cd", None])
def test_times_outside_the_day_are_refused(value):
    with pytest.raises(ValueError):
        schedule.parse_time(value)


@pytest.mark.parametrize("hours_late, advice", [(0.5, "take_now"), (3.9, "take_now"), (4.0, "skip"), (7, "skip")])
def test_catch_up_takes_the_dose_before_half_the_interval_and_skips_it_after(hours_late, advice):
    # Given a dose three times a day (every 8 hours) and the default rule (half the interval)
    due = datetime.datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    interval = schedule.dosing_interval(["08:00", "16:00", "00:00"])

    # When it is hours_late late
    result = schedule.catch_up_advice(due=due, now=due + datetime.timedelta(hours=hours_late), interval=interval,
                                      max_fraction=0.5)

    # Then
    assert (result.advice, result.interval_minutes, result.threshold_minutes) == (advice, 480, 240)
