from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TypedDict
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bxb.billing.periods import (
    BillingPeriod,
    BillingTime,
    Interval,
    charge_period_containing,
    local_day,
    next_period,
    period_containing,
    periods_between,
    start_of_local_day,
    to_utc,
    trial_end,
)

UTC_ZONE = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
PARIS = ZoneInfo("Europe/Paris")
HAVANA = ZoneInfo("America/Havana")  # DST starts at midnight: some midnights don't exist
ST_JOHNS = ZoneInfo("America/St_Johns")  # until 2011, clocks fell back across midnight

CALENDAR = BillingTime.CALENDAR
ANNIVERSARY = BillingTime.ANNIVERSARY


class Rules(TypedDict):
    interval: Interval
    billing_time: BillingTime
    anchor: datetime
    tz: ZoneInfo


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def periods(
    anchor: datetime,
    count: int,
    interval: Interval,
    billing_time: BillingTime,
    tz: ZoneInfo = UTC_ZONE,
) -> list[BillingPeriod]:
    rules = Rules(interval=interval, billing_time=billing_time, anchor=anchor, tz=tz)
    result = [period_containing(anchor, **rules)]
    while len(result) < count:
        result.append(next_period(result[-1], **rules))
    return result


def local_dates(period: BillingPeriod) -> tuple[date, date, int, int]:
    return period.start_date, period.end_date, period.days, period.full_days


# --- calendar billing -------------------------------------------------------------------


def test_calendar_monthly_first_period_is_prorated_then_full_months() -> None:
    anchor = utc(2026, 1, 15, 10, 30)
    first, second, third = periods(anchor, 3, Interval.MONTHLY, CALENDAR)

    assert first.start == anchor  # starts at the subscription start, not at midnight
    assert first.end == utc(2026, 2, 1)
    assert first.to_datetime == utc(2026, 1, 31, 23, 59, 59)
    assert first.from_datetime == anchor
    assert local_dates(first) == (date(2026, 1, 15), date(2026, 1, 31), 17, 31)
    assert first.is_partial

    assert (second.start, second.end) == (utc(2026, 2, 1), utc(2026, 3, 1))
    assert local_dates(second) == (date(2026, 2, 1), date(2026, 2, 28), 28, 28)
    assert not second.is_partial
    assert local_dates(third) == (date(2026, 3, 1), date(2026, 3, 31), 31, 31)


def test_calendar_start_on_boundary_is_a_full_period() -> None:
    (first,) = periods(utc(2026, 2, 1, 15), 1, Interval.MONTHLY, CALENDAR)
    assert local_dates(first) == (date(2026, 2, 1), date(2026, 2, 28), 28, 28)
    assert not first.is_partial


def test_calendar_weekly_starting_on_a_wednesday() -> None:
    anchor = utc(2026, 1, 7, 9)  # Wednesday
    first, second = periods(anchor, 2, Interval.WEEKLY, CALENDAR)
    assert local_dates(first) == (date(2026, 1, 7), date(2026, 1, 11), 5, 7)
    assert first.end == utc(2026, 1, 12)  # Monday 00:00
    assert local_dates(second) == (date(2026, 1, 12), date(2026, 1, 18), 7, 7)


def test_calendar_quarterly() -> None:
    first, second, third = periods(utc(2026, 5, 20), 3, Interval.QUARTERLY, CALENDAR)
    assert local_dates(first) == (date(2026, 5, 20), date(2026, 6, 30), 42, 91)
    assert local_dates(second) == (date(2026, 7, 1), date(2026, 9, 30), 92, 92)
    assert local_dates(third) == (date(2026, 10, 1), date(2026, 12, 31), 92, 92)


def test_calendar_semiannual() -> None:
    first, second, third = periods(utc(2026, 3, 10), 3, Interval.SEMIANNUAL, CALENDAR)
    assert local_dates(first) == (date(2026, 3, 10), date(2026, 6, 30), 113, 181)
    assert local_dates(second) == (date(2026, 7, 1), date(2026, 12, 31), 184, 184)
    assert local_dates(third) == (date(2027, 1, 1), date(2027, 6, 30), 181, 181)


def test_calendar_yearly() -> None:
    first, second = periods(utc(2027, 12, 31, 23), 2, Interval.YEARLY, CALENDAR)
    assert local_dates(first) == (date(2027, 12, 31), date(2027, 12, 31), 1, 365)
    assert local_dates(second) == (date(2028, 1, 1), date(2028, 12, 31), 366, 366)


# --- anniversary billing ----------------------------------------------------------------


def test_anniversary_monthly_on_the_31st_clamps_then_recovers() -> None:
    found = periods(utc(2026, 1, 31, 8), 5, Interval.MONTHLY, ANNIVERSARY)
    assert [local_dates(p) for p in found] == [
        (date(2026, 1, 31), date(2026, 2, 27), 28, 28),
        (date(2026, 2, 28), date(2026, 3, 30), 31, 31),
        (date(2026, 3, 31), date(2026, 4, 29), 30, 30),
        (date(2026, 4, 30), date(2026, 5, 30), 31, 31),
        (date(2026, 5, 31), date(2026, 6, 29), 30, 30),
    ]
    assert found[0].start == utc(2026, 1, 31, 8)
    assert found[1].start == utc(2026, 2, 28)


def test_anniversary_yearly_on_leap_day() -> None:
    found = periods(utc(2024, 2, 29, 12), 4, Interval.YEARLY, ANNIVERSARY)
    assert [local_dates(p) for p in found] == [
        (date(2024, 2, 29), date(2025, 2, 27), 365, 365),
        (date(2025, 2, 28), date(2026, 2, 27), 365, 365),
        (date(2026, 2, 28), date(2027, 2, 27), 365, 365),
        (date(2027, 2, 28), date(2028, 2, 28), 366, 366),
    ]
    assert found[3].end == utc(2028, 2, 29)


def test_anniversary_quarterly_and_semiannual_keep_the_anchor_day() -> None:
    quarterly = periods(utc(2025, 11, 30), 4, Interval.QUARTERLY, ANNIVERSARY)
    assert [p.start_date for p in quarterly] == [
        date(2025, 11, 30),
        date(2026, 2, 28),
        date(2026, 5, 30),
        date(2026, 8, 30),
    ]
    semiannual = periods(utc(2025, 8, 31), 3, Interval.SEMIANNUAL, ANNIVERSARY)
    assert [p.start_date for p in semiannual] == [
        date(2025, 8, 31),
        date(2026, 2, 28),
        date(2026, 8, 31),
    ]


def test_anniversary_weekly_keeps_the_weekday() -> None:
    found = periods(utc(2026, 1, 7, 9), 3, Interval.WEEKLY, ANNIVERSARY)
    assert [local_dates(p) for p in found] == [
        (date(2026, 1, 7), date(2026, 1, 13), 7, 7),
        (date(2026, 1, 14), date(2026, 1, 20), 7, 7),
        (date(2026, 1, 21), date(2026, 1, 27), 7, 7),
    ]


def test_anniversary_lookup_before_the_anchor_day_of_the_month() -> None:
    anchor = utc(2026, 1, 15)
    found = period_containing(
        utc(2026, 3, 10),
        interval=Interval.MONTHLY,
        billing_time=ANNIVERSARY,
        anchor=anchor,
        tz=UTC_ZONE,
    )
    assert local_dates(found) == (date(2026, 2, 15), date(2026, 3, 14), 28, 28)


# --- timezones --------------------------------------------------------------------------


def test_new_york_boundaries_are_local_midnights() -> None:
    anchor = utc(2026, 1, 15, 17)  # 12:00 EST
    first, second, third, fourth = periods(anchor, 4, Interval.MONTHLY, CALENDAR, NEW_YORK)
    assert first.end == utc(2026, 2, 1, 5)  # 00:00 EST
    assert first.to_datetime == utc(2026, 2, 1, 4, 59, 59)
    assert local_dates(first) == (date(2026, 1, 15), date(2026, 1, 31), 17, 31)
    assert second.end == utc(2026, 3, 1, 5)
    assert third.end == utc(2026, 4, 1, 4)  # 00:00 EDT after the March DST change
    assert local_dates(third) == (date(2026, 3, 1), date(2026, 3, 31), 31, 31)
    assert fourth.start == utc(2026, 4, 1, 4)


def test_tokyo_boundaries_are_local_midnights() -> None:
    first, second = periods(utc(2026, 1, 15, 3), 2, Interval.MONTHLY, CALENDAR, TOKYO)
    assert first.end == utc(2026, 1, 31, 15)  # Feb 1 00:00 JST
    assert local_dates(first) == (date(2026, 1, 15), date(2026, 1, 31), 17, 31)
    assert (second.start, second.end) == (utc(2026, 1, 31, 15), utc(2026, 2, 28, 15))


def test_the_customer_timezone_decides_the_local_day_of_the_start() -> None:
    anchor = utc(2026, 1, 31, 16)  # Jan 31 in UTC, already Feb 1 01:00 in Tokyo
    in_tokyo = period_containing(
        anchor, interval=Interval.MONTHLY, billing_time=CALENDAR, anchor=anchor, tz=TOKYO
    )
    in_utc = period_containing(
        anchor, interval=Interval.MONTHLY, billing_time=CALENDAR, anchor=anchor, tz=UTC_ZONE
    )
    assert local_dates(in_tokyo) == (date(2026, 2, 1), date(2026, 2, 28), 28, 28)
    assert local_dates(in_utc) == (date(2026, 1, 31), date(2026, 1, 31), 1, 31)


def test_paris_dst_months_keep_their_days() -> None:
    anchor = utc(2026, 2, 28, 23)  # Mar 1 00:00 CET
    found = periods(anchor, 8, Interval.MONTHLY, CALENDAR, PARIS)
    march, october = found[0], found[7]
    assert (march.start, march.end) == (utc(2026, 2, 28, 23), utc(2026, 3, 31, 22))
    assert local_dates(march) == (date(2026, 3, 1), date(2026, 3, 31), 31, 31)
    assert march.end - march.start == timedelta(days=31, hours=-1)  # 23-hour Mar 29
    assert (october.start, october.end) == (utc(2026, 9, 30, 22), utc(2026, 10, 31, 23))
    assert local_dates(october) == (date(2026, 10, 1), date(2026, 10, 31), 31, 31)
    assert october.end - october.start == timedelta(days=31, hours=1)  # 25-hour Oct 25


def test_skipped_midnight_starts_the_day_at_the_dst_jump() -> None:
    # Havana: 2026-03-08 00:00 CST does not exist, clocks jump to 01:00 CDT (05:00 UTC).
    assert start_of_local_day(date(2026, 3, 8), HAVANA) == utc(2026, 3, 8, 5)
    feb, mar = periods(utc(2026, 2, 8, 5), 2, Interval.MONTHLY, ANNIVERSARY, HAVANA)
    assert feb.end == mar.start == utc(2026, 3, 8, 5)
    assert feb.to_datetime.astimezone(HAVANA).date() == date(2026, 3, 7)
    assert local_dates(feb) == (date(2026, 2, 8), date(2026, 3, 7), 28, 28)


def test_clock_rollback_across_midnight_keeps_days_monotonic() -> None:
    # St. John's, 2010-11-07: at 00:01 NDT clocks went back to 23:01 NST on Nov 6.
    after_midnight = utc(2010, 11, 7, 3)  # wall clock shows Nov 6 23:30 again
    assert after_midnight.astimezone(ST_JOHNS).date() == date(2010, 11, 6)
    assert local_day(after_midnight, ST_JOHNS) == date(2010, 11, 7)
    found = period_containing(
        after_midnight,
        interval=Interval.MONTHLY,
        billing_time=ANNIVERSARY,
        anchor=utc(2010, 10, 7, 12),
        tz=ST_JOHNS,
    )
    assert found.start == utc(2010, 11, 7, 2, 30)
    assert found.contains(after_midnight)


# --- lookups and ranges -----------------------------------------------------------------


def test_period_containing_any_instant_of_the_period() -> None:
    rules = Rules(
        interval=Interval.MONTHLY, billing_time=CALENDAR, anchor=utc(2026, 1, 15, 10), tz=NEW_YORK
    )
    feb = period_containing(utc(2026, 2, 14), **rules)
    assert period_containing(feb.start, **rules) == feb
    assert period_containing(feb.to_datetime, **rules) == feb
    assert period_containing(feb.end, **rules).start == feb.end


def test_periods_between_returns_whole_overlapping_periods() -> None:
    rules = Rules(
        interval=Interval.MONTHLY, billing_time=CALENDAR, anchor=utc(2026, 1, 15), tz=UTC_ZONE
    )
    found = periods_between(utc(2025, 12, 1), utc(2026, 4, 1), **rules)
    assert [(p.start_date, p.end_date) for p in found] == [
        (date(2026, 1, 15), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 31)),
    ]
    inside = periods_between(utc(2026, 2, 10), utc(2026, 2, 11), **rules)
    assert [p.start_date for p in inside] == [date(2026, 2, 1)]
    assert periods_between(utc(2025, 1, 1), utc(2026, 1, 15), **rules) == []
    assert periods_between(utc(2026, 3, 1), utc(2026, 2, 1), **rules) == []


def test_aware_non_utc_inputs_are_normalized_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    found = period_containing(
        datetime(2026, 2, 10, 2, tzinfo=plus_two),
        interval=Interval.MONTHLY,
        billing_time=CALENDAR,
        anchor=datetime(2026, 1, 15, 2, tzinfo=plus_two),
        tz=UTC_ZONE,
    )
    assert found.start.tzinfo is UTC
    assert found.start == utc(2026, 2, 1)
    assert to_utc(datetime(2026, 1, 1, 2, tzinfo=plus_two)) == utc(2026, 1, 1)


def test_naive_datetimes_and_lookups_before_the_start_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_utc(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="before the subscription start"):
        period_containing(
            utc(2026, 1, 1),
            interval=Interval.MONTHLY,
            billing_time=CALENDAR,
            anchor=utc(2026, 1, 2),
            tz=UTC_ZONE,
        )


def test_billing_period_rejects_inconsistent_values() -> None:
    day = date(2026, 1, 1)
    with pytest.raises(ValueError, match="UTC"):
        BillingPeriod(datetime(2026, 1, 1, tzinfo=TOKYO), utc(2026, 2, 1), day, day, 1, 1)
    with pytest.raises(ValueError, match="empty"):
        BillingPeriod(utc(2026, 2, 1), utc(2026, 2, 1), day, day, 1, 1)
    with pytest.raises(ValueError, match="day counts"):
        BillingPeriod(utc(2026, 1, 1), utc(2026, 2, 1), day, day, 32, 31)


# --- bill_charges_monthly ---------------------------------------------------------------


def test_monthly_charge_periods_of_a_calendar_yearly_plan() -> None:
    rules = Rules(
        interval=Interval.YEARLY, billing_time=CALENDAR, anchor=utc(2026, 3, 10, 9), tz=UTC_ZONE
    )
    plan = period_containing(utc(2026, 3, 20), **rules)
    assert local_dates(plan) == (date(2026, 3, 10), date(2026, 12, 31), 297, 365)

    first = charge_period_containing(utc(2026, 3, 20), **rules)
    assert first.start == utc(2026, 3, 10, 9)
    assert local_dates(first) == (date(2026, 3, 10), date(2026, 3, 31), 22, 31)
    july = charge_period_containing(utc(2026, 7, 4), **rules)
    assert (july.start, july.end) == (utc(2026, 7, 1), utc(2026, 8, 1))
    december = charge_period_containing(utc(2026, 12, 31), **rules)
    assert december.end == plan.end


def test_monthly_charge_periods_of_an_anniversary_yearly_plan() -> None:
    rules = Rules(
        interval=Interval.YEARLY, billing_time=ANNIVERSARY, anchor=utc(2026, 1, 31, 9), tz=UTC_ZONE
    )
    feb = charge_period_containing(utc(2026, 2, 15), **rules)
    assert local_dates(feb) == (date(2026, 1, 31), date(2026, 2, 27), 28, 28)
    last = charge_period_containing(utc(2027, 1, 30), **rules)
    plan = period_containing(utc(2026, 6, 1), **rules)
    assert last.end == plan.end == utc(2027, 1, 31)
    assert local_dates(last) == (date(2026, 12, 31), date(2027, 1, 30), 31, 31)


def test_weekly_plan_cannot_bill_charges_monthly() -> None:
    with pytest.raises(ValueError, match="weekly"):
        charge_period_containing(
            utc(2026, 1, 1),
            interval=Interval.WEEKLY,
            billing_time=CALENDAR,
            anchor=utc(2026, 1, 1),
            tz=UTC_ZONE,
        )


# --- trials -----------------------------------------------------------------------------


def test_trial_keeps_the_time_of_day() -> None:
    assert trial_end(utc(2026, 1, 15, 10), 5, UTC_ZONE) == utc(2026, 1, 20, 10)
    assert trial_end(utc(2026, 1, 15, 10), 0, UTC_ZONE) == utc(2026, 1, 15, 10)


def test_trial_whole_days_follow_the_local_wall_clock_across_dst() -> None:
    start = utc(2026, 3, 27, 9)  # 10:00 CET
    assert trial_end(start, 5, PARIS) == utc(2026, 4, 1, 8)  # 10:00 CEST
    # 02:30 on Mar 29 does not exist in Paris: the trial ends just after the jump.
    assert trial_end(utc(2026, 3, 28, 1, 30), 1, PARIS) == utc(2026, 3, 29, 1, 30)


def test_fractional_trials_add_elapsed_time() -> None:
    start = utc(2026, 1, 15, 10)
    assert trial_end(start, Decimal("0.5"), UTC_ZONE) == utc(2026, 1, 15, 22)
    assert trial_end(start, 0.1, UTC_ZONE) == start + timedelta(hours=2, minutes=24)
    assert trial_end(start, Decimal("1.25"), NEW_YORK) == utc(2026, 1, 16, 16)


@pytest.mark.parametrize("days", [-1, Decimal("NaN"), float("inf")])
def test_invalid_trial_periods_are_refused(days: Decimal | int | float) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        trial_end(utc(2026, 1, 15), days, UTC_ZONE)


# --- properties -------------------------------------------------------------------------

ZONES = [
    "UTC",
    "America/New_York",
    "Asia/Tokyo",
    "Europe/Paris",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Havana",  # DST jump at midnight
    "America/St_Johns",  # rollback across midnight until 2011
    # Not Pacific/Apia: its skipped 2011-12-30 still counts as a (zero-length) local day.
]

rules_strategy = st.builds(
    Rules,
    interval=st.sampled_from(Interval),
    billing_time=st.sampled_from(BillingTime),
    anchor=st.datetimes(
        min_value=datetime(1995, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    tz=st.sampled_from(ZONES).map(ZoneInfo),
)


@settings(deadline=None)
@given(rules=rules_strategy, count=st.integers(min_value=1, max_value=30))
def test_consecutive_periods_are_contiguous_and_consistent(rules: Rules, count: int) -> None:
    tz = rules["tz"]
    found = periods(count=count, **rules)
    assert found[0].start == rules["anchor"]
    for previous, current in itertools.pairwise(found):
        assert current.start == previous.end  # no gap, no overlap
        assert current.start_date == previous.end_date + timedelta(days=1)
        assert not current.is_partial  # only the first period can be prorated
    for period in found:
        assert period.start < period.end
        assert period.start_date == local_day(period.start, tz)
        assert period.end_date == local_day(period.to_datetime, tz)
        assert period.days == (period.end_date - period.start_date).days + 1
        assert 0 < period.days <= period.full_days
    if rules["billing_time"] is ANNIVERSARY:
        assert not found[0].is_partial


@settings(deadline=None)
@given(
    rules=rules_strategy,
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1200)),
)
def test_every_instant_belongs_to_exactly_one_period(rules: Rules, offset: timedelta) -> None:
    anchor = rules["anchor"]
    at = anchor + offset
    found = period_containing(at, **rules)
    assert found.contains(at)
    following = next_period(found, **rules)
    assert not following.contains(at)
    if found.start > anchor:
        preceding = period_containing(found.start - timedelta(microseconds=1), **rules)
        assert preceding.end == found.start
        assert not preceding.contains(at)
    else:
        assert found.start == anchor


@settings(deadline=None)
@given(
    rules=rules_strategy.filter(lambda r: r["interval"] is not Interval.WEEKLY),
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1200)),
)
def test_monthly_charge_periods_nest_in_plan_periods(rules: Rules, offset: timedelta) -> None:
    anchor = rules["anchor"]
    at = anchor + offset
    plan = period_containing(at, **rules)
    charges = charge_period_containing(at, **rules)
    assert plan.start <= charges.start <= at < charges.end <= plan.end
