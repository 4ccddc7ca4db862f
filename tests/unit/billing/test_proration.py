from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bxb.billing.periods import BillingTime, Interval, local_day, period_containing
from bxb.billing.proration import (
    annualized_amount,
    daily_price,
    days_between,
    is_upgrade,
    prorate,
    split_for_change,
    unused_credit,
)
from tests.unit.billing.test_periods import Rules, rules_strategy, utc

UTC_ZONE = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
PARIS = ZoneInfo("Europe/Paris")

CALENDAR_MONTHLY_FROM_JAN_15 = Rules(
    interval=Interval.MONTHLY,
    billing_time=BillingTime.CALENDAR,
    anchor=utc(2026, 1, 15, 10),
    tz=UTC_ZONE,
)


# --- prorate ----------------------------------------------------------------------------


def test_prorate_worked_example() -> None:
    # 17 of 31 days of $10.00 = 548.387... cents -> 548
    assert prorate(1000, 17, 31) == 548


def test_prorate_rounds_half_up_once() -> None:
    assert prorate(1, 1, 2) == 1
    assert prorate(5, 1, 2) == 3  # 2.5 -> 3, not banker's 2
    assert prorate(999, 1, 3) == 333
    assert prorate(1000, 1, 3) == 333
    assert prorate(2000, 1, 3) == 667


def test_prorate_bounds() -> None:
    assert prorate(1000, 0, 31) == 0
    assert prorate(1000, 31, 31) == 1000
    assert prorate(0, 10, 31) == 0


def test_prorate_is_exact_for_huge_amounts() -> None:
    # 10**40 + 1 halves to ...0.5 exactly: a 28-digit context would lose the half.
    amount = 10**40 + 1
    assert prorate(amount, 1, 2) == (amount + 1) // 2


@pytest.mark.parametrize(
    ("amount", "used", "full", "message"),
    [
        (-1, 1, 31, "amount_cents"),
        (1000, 1, 0, "full_days"),
        (1000, -1, 31, "used_days"),
        (1000, 32, 31, "used_days"),
    ],
)
def test_prorate_rejects_invalid_arguments(amount: int, used: int, full: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prorate(amount, used, full)


@given(
    amount=st.integers(min_value=0, max_value=10**45),
    full=st.integers(min_value=1, max_value=400),
    data=st.data(),
)
def test_prorate_is_bounded_monotonic_and_rounded_half_up(
    amount: int, full: int, data: st.DataObject
) -> None:
    used = data.draw(st.integers(min_value=0, max_value=full))
    more = data.draw(st.integers(min_value=used, max_value=full))
    prorated = prorate(amount, used, full)
    assert 0 <= prorated <= amount
    assert prorated <= prorate(amount, more, full)
    assert prorated == (2 * amount * used + full) // (2 * full)  # exact half-up oracle


# --- days_between -----------------------------------------------------------------------


def test_days_between_counts_local_days_start_inclusive_end_exclusive() -> None:
    assert days_between(utc(2026, 1, 15, 10), utc(2026, 2, 1), UTC_ZONE) == 17
    assert days_between(utc(2026, 1, 15, 10), utc(2026, 1, 15, 23), UTC_ZONE) == 0
    # 23:00 UTC on Jan 15 is already Jan 16 in Tokyo.
    assert days_between(utc(2026, 1, 15, 10), utc(2026, 1, 15, 23), TOKYO) == 1


def test_days_between_ignores_dst_hours() -> None:
    march_start, april_start = utc(2026, 2, 28, 23), utc(2026, 3, 31, 22)
    assert april_start - march_start < timedelta(days=31)
    assert days_between(march_start, april_start, PARIS) == 31


def test_days_between_rejects_reversed_bounds() -> None:
    with pytest.raises(ValueError, match="before start"):
        days_between(utc(2026, 2, 1), utc(2026, 1, 1), UTC_ZONE)


# --- split_for_change -------------------------------------------------------------------


def test_split_gives_the_change_day_to_the_new_state() -> None:
    february = period_containing(utc(2026, 2, 10), **CALENDAR_MONTHLY_FROM_JAN_15)
    assert split_for_change(february, utc(2026, 2, 10, 15), UTC_ZONE) == (9, 19)  # 1..9 | 10..28
    assert split_for_change(february, utc(2026, 2, 10), UTC_ZONE) == (9, 19)
    assert split_for_change(february, utc(2026, 2, 10, 23, 59, 59), UTC_ZONE) == (9, 19)
    assert split_for_change(february, february.start, UTC_ZONE) == (0, 28)
    assert split_for_change(february, february.end, UTC_ZONE) == (28, 0)


def test_split_of_a_prorated_first_period() -> None:
    january = period_containing(utc(2026, 1, 20), **CALENDAR_MONTHLY_FROM_JAN_15)
    assert split_for_change(january, utc(2026, 1, 20, 12), UTC_ZONE) == (5, 12)
    assert january.days == 17


def test_split_uses_the_customer_local_day() -> None:
    rules = Rules(
        interval=Interval.MONTHLY,
        billing_time=BillingTime.CALENDAR,
        anchor=utc(2026, 1, 1, 5),
        tz=NEW_YORK,
    )
    february = period_containing(utc(2026, 2, 10), **rules)
    # 03:00 UTC on Feb 10 is still Feb 9 in New York: Feb 9 goes to the new state.
    assert split_for_change(february, utc(2026, 2, 10, 3), NEW_YORK) == (8, 20)


def test_split_rejects_changes_outside_the_period() -> None:
    february = period_containing(utc(2026, 2, 10), **CALENDAR_MONTHLY_FROM_JAN_15)
    with pytest.raises(ValueError, match="outside"):
        split_for_change(february, utc(2026, 3, 1, 0, 0, 1), UTC_ZONE)
    with pytest.raises(ValueError, match="outside"):
        split_for_change(february, utc(2026, 1, 31, 23, 59, 59), UTC_ZONE)


def test_split_detects_a_period_built_in_another_timezone() -> None:
    rules = Rules(
        interval=Interval.MONTHLY,
        billing_time=BillingTime.CALENDAR,
        anchor=utc(2026, 1, 15, 20),
        tz=UTC_ZONE,
    )
    january = period_containing(utc(2026, 1, 20), **rules)  # Jan 15..31 in UTC
    with pytest.raises(ValueError, match="Asia/Tokyo"):
        split_for_change(january, utc(2026, 1, 20), TOKYO)


def test_a_date_skipped_by_the_timezone_is_counted_once() -> None:
    # Samoa jumped from Dec 29 to Dec 31, 2011: December has 30 days of time but 31 dates.
    apia = ZoneInfo("Pacific/Apia")
    rules = Rules(
        interval=Interval.MONTHLY,
        billing_time=BillingTime.CALENDAR,
        anchor=utc(2011, 12, 1, 10),  # Dec 1 00:00 local
        tz=apia,
    )
    december = period_containing(utc(2011, 12, 15), **rules)
    assert december.end - december.start == timedelta(days=30)
    assert (december.days, december.full_days) == (31, 31)
    assert split_for_change(december, utc(2011, 12, 30, 9), apia) == (28, 3)  # Dec 29 23:00
    assert split_for_change(december, utc(2011, 12, 30, 12), apia) == (30, 1)  # Dec 31 02:00


# --- unused_credit ----------------------------------------------------------------------


def test_unused_credit_of_a_full_period() -> None:
    february = period_containing(utc(2026, 2, 10), **CALENDAR_MONTHLY_FROM_JAN_15)
    assert unused_credit(2800, february, utc(2026, 2, 10, 15), UTC_ZONE) == 1900  # 19 of 28
    assert unused_credit(2800, february, february.start, UTC_ZONE) == 2800
    assert unused_credit(2800, february, february.end, UTC_ZONE) == 0


def test_unused_credit_of_a_prorated_first_period() -> None:
    january = period_containing(utc(2026, 1, 20), **CALENDAR_MONTHLY_FROM_JAN_15)
    paid = prorate(1000, january.days, january.full_days)
    assert paid == 548
    # Terminated Jan 20: Jan 20..31 unused, 12 of the 17 paid days -> 386.82 -> 387.
    assert unused_credit(paid, january, utc(2026, 1, 20, 12), UTC_ZONE) == 387


# --- upgrade vs downgrade ---------------------------------------------------------------


def test_annualized_amount_and_daily_price() -> None:
    assert annualized_amount(100, Interval.WEEKLY) == 5200
    assert annualized_amount(100, Interval.MONTHLY) == 1200
    assert annualized_amount(100, Interval.QUARTERLY) == 400
    assert annualized_amount(100, Interval.SEMIANNUAL) == 200
    assert annualized_amount(100, Interval.YEARLY) == 100
    assert daily_price(3650, Interval.MONTHLY) == Decimal(120)
    assert daily_price(36500, Interval.YEARLY) == Decimal(100)


def test_is_upgrade_compares_price_per_day_across_intervals() -> None:
    assert is_upgrade(1000, Interval.MONTHLY, 12001, Interval.YEARLY)
    assert not is_upgrade(12001, Interval.YEARLY, 1000, Interval.MONTHLY)
    assert is_upgrade(100, Interval.WEEKLY, 434, Interval.MONTHLY)  # 5200 < 5208 a year
    assert not is_upgrade(434, Interval.MONTHLY, 100, Interval.WEEKLY)


def test_equal_price_is_not_an_upgrade() -> None:
    assert not is_upgrade(1000, Interval.MONTHLY, 12000, Interval.YEARLY)
    assert not is_upgrade(12000, Interval.YEARLY, 1000, Interval.MONTHLY)
    assert not is_upgrade(1000, Interval.MONTHLY, 1000, Interval.MONTHLY)


# --- properties -------------------------------------------------------------------------


@settings(deadline=None)
@given(
    rules=rules_strategy,
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1200)),
    amount=st.integers(min_value=0, max_value=10**9),
    data=st.data(),
)
def test_split_covers_every_day_of_the_period_once(
    rules: Rules, offset: timedelta, amount: int, data: st.DataObject
) -> None:
    tz = rules["tz"]
    period = period_containing(rules["anchor"] + offset, **rules)
    change_at = period.start + data.draw(
        st.timedeltas(min_value=timedelta(0), max_value=period.end - period.start)
    )
    old_days, new_days = split_for_change(period, change_at, tz)

    assert old_days + new_days == period.days
    if not period.is_partial:
        assert old_days + new_days == period.full_days
    if change_at < period.end:
        change_day = local_day(change_at, tz)
        assert old_days == (change_day - period.start_date).days  # up to the change day
        assert new_days == (period.end_date - change_day).days + 1  # from it, inclusive
    assert 0 <= unused_credit(amount, period, change_at, tz) <= amount


def test_split_property_example_spans_a_real_date() -> None:
    # Keeps the oracle above honest: a change on the last day leaves the new state one day.
    february = period_containing(utc(2026, 2, 10), **CALENDAR_MONTHLY_FROM_JAN_15)
    assert february.end_date == date(2026, 2, 28)
    assert split_for_change(february, utc(2026, 2, 28, 12), UTC_ZONE) == (27, 1)
