"""Proration in whole local days.

One rule everywhere: the local day (customer's timezone) on which a change happens belongs
to the NEW state. The old plan is billed up to and excluding the change day, the new plan
from the change day inclusive, so no day is billed twice or not at all.

Day counts are differences of local days (see ``periods.local_day``), which makes them
additive: ``days_between(a, b) + days_between(b, c) == days_between(a, c)``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, localcontext
from zoneinfo import ZoneInfo

from bxb.billing.money import round_minor
from bxb.billing.periods import BillingPeriod, Interval, local_day, to_utc

# Base amounts are compared per year; weekly counts as 52 weeks (Lago's yearly amount).
_PERIODS_PER_YEAR = {
    Interval.WEEKLY: 52,
    Interval.MONTHLY: 12,
    Interval.QUARTERLY: 4,
    Interval.SEMIANNUAL: 2,
    Interval.YEARLY: 1,
}
DAYS_PER_YEAR = 365


def days_between(start: datetime, end: datetime, tz: ZoneInfo) -> int:
    """Local days from ``start``'s day (inclusive) to ``end``'s day (exclusive).

    A period's ``days`` equals ``days_between(period.start, period.end)``; for a change at
    instant ``c`` inside it, ``days_between(start, c)`` are the old state's days (the change
    day excluded) and ``days_between(c, end)`` the new state's (the change day included).
    """
    start, end = to_utc(start), to_utc(end)
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return (local_day(end, tz) - local_day(start, tz)).days


def prorate(amount_cents: int, used_days: int, full_days: int) -> int:
    """``amount_cents * used_days / full_days``, rounded once, half-up, to a minor unit.

    Never exceeds ``amount_cents``, is 0 for 0 days and ``amount_cents`` for all days, and
    never decreases when ``used_days`` grows.
    """
    if amount_cents < 0:
        raise ValueError(f"amount_cents must not be negative: {amount_cents}")
    if full_days <= 0:
        raise ValueError(f"full_days must be positive: {full_days}")
    if not 0 <= used_days <= full_days:
        raise ValueError(f"used_days must be within 0..{full_days}: {used_days}")
    numerator = amount_cents * used_days
    with localcontext() as ctx:
        # Enough digits that the quotient is never rounded to exactly .5 before round_minor
        # sees it (a non-half quotient is at least 1/(2 * full_days) away from .5).
        ctx.prec = max(28, len(str(numerator)) + len(str(full_days)) + 2)
        return round_minor(Decimal(numerator) / Decimal(full_days))


def split_for_change(period: BillingPeriod, change_at: datetime, tz: ZoneInfo) -> tuple[int, int]:
    """``(days_of_old_state, days_of_new_state)`` for a change at ``change_at``.

    The change day goes to the new state; the two always add up to ``period.days``.
    ``change_at`` may be ``period.end`` (then the new state gets no day of this period).
    """
    change_at = to_utc(change_at)
    if not period.start <= change_at <= period.end:
        raise ValueError(f"{change_at} is outside [{period.start}, {period.end}]")
    old_days = days_between(period.start, change_at, tz)
    new_days = days_between(change_at, period.end, tz)
    if old_days + new_days != period.days:
        raise ValueError(f"period was not built in timezone {tz.key}")
    return old_days, new_days


def unused_credit(
    amount_cents: int, period: BillingPeriod, change_at: datetime, tz: ZoneInfo
) -> int:
    """Credit for the prepaid days of ``period`` left unused by a change at ``change_at``.

    ``amount_cents`` is what was billed in advance for this very period (already prorated
    if the period is partial), so it is spread over ``period.days``: the credit can never
    exceed what was paid. The change day is unused by the old plan (it belongs to the new
    state), so a change on the period's first day credits everything.
    """
    _, unused_days = split_for_change(period, change_at, tz)
    return prorate(amount_cents, unused_days, period.days)


def annualized_amount(amount_cents: int, interval: Interval) -> int:
    """The base amount over a year: weekly x52, monthly x12, quarterly x4, semiannual x2."""
    return amount_cents * _PERIODS_PER_YEAR[interval]


def daily_price(amount_cents: int, interval: Interval) -> Decimal:
    """Base price per day, defined as the annualized amount / 365 (not rounded).

    A fixed definition rather than the days of any particular period, so comparing two
    plans never depends on the month a change happens in.
    """
    return Decimal(annualized_amount(amount_cents, interval)) / DAYS_PER_YEAR


def is_upgrade(
    old_amount_cents: int,
    old_interval: Interval,
    new_amount_cents: int,
    new_interval: Interval,
) -> bool:
    """True when the new plan costs strictly more per day than the old one.

    Compares the exact integer annualized amounts (same order as ``daily_price``). An equal
    price is not an upgrade, so it takes the downgrade path (applied at period end).
    """
    return annualized_amount(new_amount_cents, new_interval) > annualized_amount(
        old_amount_cents, old_interval
    )
