"""Billing periods: where each period of a subscription starts and ends.

A period is a half-open range of UTC instants ``[start, end)``. Every boundary after the
subscription start is the first instant of a *local* day in the customer's timezone, so a
DST change moves the UTC instant of a boundary but never its local date.

Two billing times, as in Lago:

* ``calendar``: boundaries fall on calendar units (Monday, 1st of month, quarter, half,
  year). The first period runs from the subscription start to the next boundary and is
  prorated against the full calendar unit it belongs to.
* ``anniversary``: boundaries repeat the subscription's local start date. Month-based
  intervals keep the anchor day and clamp it to short months (Jan 31 -> Feb 28 -> Mar 31;
  a Feb 29 anchor -> Feb 28 in common years); weekly keeps the weekday.

Boundary ``n`` is always computed from the anchor date directly (never from boundary
``n - 1``), which is what keeps a clamped anchor day from drifting.

Pure and deterministic: called from Temporal workflows, so no clock and no I/O.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

ONE_DAY = timedelta(days=1)
ONE_SECOND = timedelta(seconds=1)
_MICROSECONDS_PER_DAY = 86_400_000_000


class Interval(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    YEARLY = "yearly"


class BillingTime(StrEnum):
    CALENDAR = "calendar"
    ANNIVERSARY = "anniversary"


_MONTHS_PER_PERIOD = {
    Interval.MONTHLY: 1,
    Interval.QUARTERLY: 3,
    Interval.SEMIANNUAL: 6,
    Interval.YEARLY: 12,
}


@dataclass(frozen=True, slots=True)
class BillingPeriod:
    """One billing period of a subscription.

    ``start``/``end`` are UTC instants, ``end`` exclusive. ``start_date``/``end_date`` are
    the first and last local days (both inclusive). ``days`` counts the local days of this
    period; ``full_days`` those of the whole, unprorated period it belongs to (they differ
    only for a calendar subscription's first period).
    """

    start: datetime
    end: datetime
    start_date: date
    end_date: date
    days: int
    full_days: int

    def __post_init__(self) -> None:
        if self.start.utcoffset() != timedelta(0) or self.end.utcoffset() != timedelta(0):
            raise ValueError("period bounds must be tz-aware UTC datetimes")
        if self.start >= self.end:
            raise ValueError(f"empty period: {self.start} >= {self.end}")
        if not 0 < self.days <= self.full_days:
            raise ValueError(f"inconsistent day counts: {self.days} of {self.full_days}")

    @property
    def from_datetime(self) -> datetime:
        """Lago's ``from_datetime``: the first instant of the period."""
        return self.start

    @property
    def to_datetime(self) -> datetime:
        """Lago's ``to_datetime``: the last second of the period (``end`` - 1s)."""
        return self.end - ONE_SECOND

    @property
    def is_partial(self) -> bool:
        return self.days < self.full_days

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end


def to_utc(at: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are refused (their instant is unknown)."""
    if at.utcoffset() is None:
        raise ValueError(f"naive datetime, expected tz-aware UTC: {at!r}")
    return at.astimezone(UTC)


def start_of_local_day(day: date, tz: ZoneInfo) -> datetime:
    """First UTC instant of a local day.

    fold=0 picks the first occurrence of an ambiguous midnight, and for a midnight skipped
    by a DST jump it resolves to the jump itself, i.e. again the day's first instant.
    """
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def local_day(at: datetime, tz: ZoneInfo) -> date:
    """The local day an instant is billed on: the latest day that has started by ``at``.

    Equal to the local calendar date except inside a rare clock rollback across midnight
    (e.g. America/St_Johns before 2011), where wall clocks briefly show the previous date
    again; the next day has already started, and keeping days monotonic in time is what
    keeps periods contiguous and day counts additive.
    """
    at = to_utc(at)
    day = at.astimezone(tz).date()
    if start_of_local_day(day + ONE_DAY, tz) <= at:
        day += ONE_DAY
    return day


def _add_months(day: date, months: int) -> date:
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    last_day = calendar.monthrange(year, month_index + 1)[1]
    return date(year, month_index + 1, min(day.day, last_day))


def _base_date(anchor_day: date, interval: Interval, billing_time: BillingTime) -> date:
    """Boundary 0: the anchor day itself, or the calendar unit's start on or before it."""
    if billing_time is BillingTime.ANNIVERSARY:
        return anchor_day
    if interval is Interval.WEEKLY:
        return anchor_day - timedelta(days=anchor_day.weekday())  # Monday
    step = _MONTHS_PER_PERIOD[interval]
    first_month = (anchor_day.month - 1) // step * step + 1
    return date(anchor_day.year, first_month, 1)


def _boundary(base: date, interval: Interval, index: int) -> date:
    if interval is Interval.WEEKLY:
        return base + timedelta(weeks=index)
    return _add_months(base, _MONTHS_PER_PERIOD[interval] * index)


def _index_of(day: date, base: date, interval: Interval) -> int:
    """Index of the period whose local days include ``day`` (``day`` >= ``base``)."""
    if interval is Interval.WEEKLY:
        return (day - base).days // 7
    months = (day.year - base.year) * 12 + day.month - base.month
    index = months // _MONTHS_PER_PERIOD[interval]
    # An anniversary day later in the month than `day` (15th vs 10th) is not reached yet.
    if _boundary(base, interval, index) > day:
        index -= 1
    return index


def period_containing(
    at: datetime,
    *,
    interval: Interval,
    billing_time: BillingTime,
    anchor: datetime,
    tz: ZoneInfo,
) -> BillingPeriod:
    """The period of a subscription started at ``anchor`` that contains instant ``at``.

    The first period starts at ``anchor`` itself (not at midnight); every later one starts
    at a local midnight.
    """
    at, anchor = to_utc(at), to_utc(anchor)
    if at < anchor:
        raise ValueError(f"{at} is before the subscription start {anchor}")
    anchor_day = local_day(anchor, tz)
    base = _base_date(anchor_day, interval, billing_time)
    index = _index_of(local_day(at, tz), base, interval)

    full_start = start_of_local_day(_boundary(base, interval, index), tz)
    start = anchor if index == 0 else full_start
    end = start_of_local_day(_boundary(base, interval, index + 1), tz)
    # Days are read back from the instants, exactly as proration counts them, so that
    # `days == days_between(start, end)` holds even where a zone skipped a whole date.
    start_date, end_day = local_day(start, tz), local_day(end, tz)
    return BillingPeriod(
        start=start,
        end=end,
        start_date=start_date,
        end_date=end_day - ONE_DAY,
        days=(end_day - start_date).days,
        full_days=(end_day - local_day(full_start, tz)).days,
    )


def next_period(
    period: BillingPeriod,
    *,
    interval: Interval,
    billing_time: BillingTime,
    anchor: datetime,
    tz: ZoneInfo,
) -> BillingPeriod:
    """The period right after ``period`` (it starts at ``period.end``)."""
    return period_containing(
        period.end, interval=interval, billing_time=billing_time, anchor=anchor, tz=tz
    )


def periods_between(
    start: datetime,
    end: datetime,
    *,
    interval: Interval,
    billing_time: BillingTime,
    anchor: datetime,
    tz: ZoneInfo,
) -> list[BillingPeriod]:
    """Whole periods overlapping ``[start, end)``, in order (not trimmed to the range).

    Nothing exists before ``anchor``, so the range is clipped to start there.
    """
    start, end, anchor = to_utc(start), to_utc(end), to_utc(anchor)
    start = max(start, anchor)
    periods: list[BillingPeriod] = []
    if end <= start:
        return periods
    period = period_containing(
        start, interval=interval, billing_time=billing_time, anchor=anchor, tz=tz
    )
    while period.start < end:
        periods.append(period)
        period = next_period(
            period, interval=interval, billing_time=billing_time, anchor=anchor, tz=tz
        )
    return periods


def charge_period_containing(
    at: datetime,
    *,
    interval: Interval,
    billing_time: BillingTime,
    anchor: datetime,
    tz: ZoneInfo,
) -> BillingPeriod:
    """Monthly usage period for a plan billed with ``bill_charges_monthly``.

    Monthly sub-periods follow the plan's billing time, so they nest exactly in the plan's
    periods: calendar quarters/halves/years start on a 1st of month, and anniversary
    boundary ``n`` of the plan is monthly boundary ``n * months`` of the same anchor.
    Lago accepts the flag for yearly and semiannual plans (the API layer checks that);
    quarterly works the same way and monthly is its own period. Weekly periods cannot
    contain months, hence the error.
    """
    if interval is Interval.WEEKLY:
        raise ValueError("charges of a weekly plan cannot be billed monthly")
    return period_containing(
        at, interval=Interval.MONTHLY, billing_time=billing_time, anchor=anchor, tz=tz
    )


def trial_end(start: datetime, trial_period_days: Decimal | int | float, tz: ZoneInfo) -> datetime:
    """Instant a trial of ``trial_period_days`` (Lago's ``trial_period``) ends.

    The exact time of day is kept, as Lago's ``trial_ended_at`` is the start plus the trial
    duration. Whole days are added on the local wall clock, so a 5-day trial started at
    10:00 ends at 10:00 local five days later even across a DST change; a fractional
    remainder (``trial_period`` is a number, e.g. 0.5) is added as elapsed time. A wall time
    skipped by DST resolves to the instant just after the jump.

    With day-based proration the day the trial ends is billed (the day of a change belongs
    to the new state), so a trial of N whole days gives exactly N free local days.
    """
    # A float goes through its repr, so 0.1 means 0.1 day, not its binary approximation.
    days = Decimal(
        str(trial_period_days) if isinstance(trial_period_days, float) else trial_period_days
    )
    if not days.is_finite() or days < 0:
        raise ValueError(f"trial period must be a non-negative number of days: {days}")
    whole_days = int(days)
    remainder = (days - whole_days) * _MICROSECONDS_PER_DAY
    local_start = to_utc(start).astimezone(tz)
    wall_end = local_start.replace(tzinfo=None, fold=0) + timedelta(days=whole_days)
    end = wall_end.replace(tzinfo=tz).astimezone(UTC)
    return end + timedelta(microseconds=int(remainder.quantize(Decimal(1), ROUND_HALF_UP)))
