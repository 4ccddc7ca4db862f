"""The days and the usage that pauses take out of billing (bxb.billing.pauses)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bxb.billing.pauses import base_fee_without_pauses, clipped, outside_pauses, paused_days
from bxb.billing.periods import BillingTime, Interval, period_containing

UTC_ZONE = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")


def at(day: int, hour: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


JANUARY = period_containing(
    at(15), interval=Interval.MONTHLY, billing_time=BillingTime.CALENDAR, anchor=at(1), tz=UTC_ZONE
)


@dataclass(frozen=True)
class Event:
    timestamp: datetime


def test_the_start_day_is_paused_and_the_end_day_is_billed() -> None:
    # Jan 11 09:00 → Jan 21 00:00 takes Jan 11..20 out: ten days.
    assert paused_days([(at(11, 9), at(21))], at(1), at(1, month=2), UTC_ZONE) == 10
    fee = base_fee_without_pauses(3100, JANUARY, at(1), at(1, month=2), None, UTC_ZONE, [])
    assert (fee.amount_cents, fee.days) == (3100, 31)
    paused = [(at(11, 9), at(21))]
    fee = base_fee_without_pauses(3100, JANUARY, at(1), at(1, month=2), None, UTC_ZONE, paused)
    assert (fee.amount_cents, fee.days, fee.full_days) == (2100, 21, 31)


def test_an_open_pause_runs_to_the_window_end_and_days_count_in_local_time() -> None:
    assert clipped([(at(25), None)], at(1), at(1, month=2)) == [(at(25), at(1, month=2))]
    assert paused_days([(at(25), None)], at(1), at(1, month=2), UTC_ZONE) == 7
    # 23:00 UTC on Jan 10 is midnight, Jan 11, in Paris: the pause starts on the 11th there.
    assert paused_days([(at(10, 23), at(21))], at(1), at(1, month=2), PARIS) == 10
    assert paused_days([(at(10, 23), at(21))], at(1), at(1, month=2), UTC_ZONE) == 11


def test_trial_days_are_free_and_not_taken_twice() -> None:
    # Trial until Jan 15, paused Jan 11..20: only Jan 15..20 (6 days) come off the 17 billed.
    fee = base_fee_without_pauses(
        3100, JANUARY, at(1), at(1, month=2), at(15), UTC_ZONE, [(at(11), at(21))]
    )
    assert (fee.days, fee.amount_cents) == (11, 1100)


def test_events_inside_a_pause_are_left_out() -> None:
    events = [Event(at(10)), Event(at(11)), Event(at(20, 23)), Event(at(21)), Event(at(26))]
    kept = outside_pauses(events, [(at(11), at(21)), (at(25), None)])
    assert kept == [Event(at(10)), Event(at(21))]
    assert outside_pauses(events, []) == events


@given(
    st.lists(st.integers(min_value=0, max_value=31 * 24), min_size=0, max_size=8, unique=True),
    st.sampled_from([UTC_ZONE, PARIS]),
)
def test_paused_days_never_exceed_the_window_nor_the_fee_the_plan(
    hours: list[int], tz: ZoneInfo
) -> None:
    """Disjoint pauses (consecutive pairs of sorted instants) never take more days than
    the window has, and the fee stays between 0 and the plan's amount."""
    marks = sorted(at(1) + timedelta(hours=h) for h in hours)
    pauses = list(zip(marks[::2], marks[1::2], strict=False))
    days = paused_days(pauses, at(1), at(1, month=2), tz)
    assert 0 <= days <= 31
    fee = base_fee_without_pauses(3100, JANUARY, at(1), at(1, month=2), None, UTC_ZONE, pauses)
    assert 0 <= fee.amount_cents <= 3100
