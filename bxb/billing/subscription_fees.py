"""The base (subscription) fee of a plan over a window of one billing period.

A subscription's plan is billed per period; a window is the part of a period the plan was
active for: the whole period, or a part cut by a start, a plan change, a trial end or a
termination. The fee is the plan amount prorated in whole local days over the period's
full length, with trial days free and the day of a change belonging to the new state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from bxb.billing.periods import (
    BillingPeriod,
    BillingTime,
    Interval,
    charge_period_containing,
    local_day,
    period_containing,
    to_utc,
)
from bxb.billing.proration import days_between, prorate


@cache
def zone(name: str) -> ZoneInfo:
    """A timezone by IANA name (cached; workflows get the real ZoneInfo through here)."""
    return ZoneInfo(name)


@dataclass(frozen=True)
class Terms:
    """How a plan's periods are laid out for one subscription."""

    interval: Interval
    billing_time: BillingTime
    anchor: datetime  # the subscription start; anniversary periods repeat its local date
    tz: ZoneInfo
    bill_charges_monthly: bool = False


def segment_period(at: datetime, segment_start: datetime, terms: Terms) -> BillingPeriod:
    """The period containing `at`, cut to start no earlier than the segment's start.

    A plan that starts mid-period (an upgrade, an interval change) has a partial first
    period whose full length, for proration, is still the whole period's.
    """
    period = period_containing(
        at,
        interval=terms.interval,
        billing_time=terms.billing_time,
        anchor=terms.anchor,
        tz=terms.tz,
    )
    return _clip(period, segment_start, terms.tz)


def charges_period(at: datetime, segment_start: datetime, terms: Terms) -> BillingPeriod:
    """The usage period containing `at`: monthly for plans billing charges monthly."""
    if terms.bill_charges_monthly and terms.interval not in (Interval.MONTHLY, Interval.WEEKLY):
        period = charge_period_containing(
            at,
            interval=terms.interval,
            billing_time=terms.billing_time,
            anchor=terms.anchor,
            tz=terms.tz,
        )
        return _clip(period, segment_start, terms.tz)
    return segment_period(at, segment_start, terms)


def _clip(period: BillingPeriod, segment_start: datetime, tz: ZoneInfo) -> BillingPeriod:
    segment_start = to_utc(segment_start)
    if segment_start <= period.start:
        return period
    return BillingPeriod(
        start=segment_start,
        end=period.end,
        start_date=local_day(segment_start, tz),
        end_date=period.end_date,
        days=days_between(segment_start, period.end, tz),
        full_days=period.full_days,
    )


@dataclass(frozen=True)
class BaseFee:
    amount_cents: int
    days: int
    full_days: int


def base_fee(
    amount_cents: int,
    period: BillingPeriod,
    window_start: datetime,
    window_end: datetime,
    trial_ends_at: datetime | None,
    tz: ZoneInfo,
) -> BaseFee:
    """The plan amount for the days of [window_start, window_end) inside period.

    Days before the trial end are free; the day the trial ends is billed, as is the day a
    plan starts, while the day a plan ends belongs to what comes next.
    """
    start = max(to_utc(window_start), period.start)
    end = min(to_utc(window_end), period.end)
    if trial_ends_at is not None:
        start = max(start, to_utc(trial_ends_at))
    days = days_between(start, end, tz) if start < end else 0
    return BaseFee(prorate(amount_cents, days, period.full_days), days, period.full_days)
