"""Pauses of a subscription: the days and the usage they take out of billing.

A pause runs from the instant it starts to the instant it ends (None: still paused). In
whole local days, as everywhere else in proration, the day a pause starts is paused and
the day it ends is billed again ("the day of a change belongs to the new state"): a pause
from Jan 11 to Jan 21 takes out Jan 11..20, ten days. Usage events whose timestamp falls
inside a pause are stored but not billed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from bxb.billing.periods import BillingPeriod, to_utc
from bxb.billing.proration import days_between, prorate
from bxb.billing.subscription_fees import BaseFee, base_fee

Span = tuple[datetime, datetime | None]


class Timestamped(Protocol):
    @property
    def timestamp(self) -> datetime: ...


E = TypeVar("E", bound=Timestamped)


def clipped(
    pauses: Iterable[Span], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The parts of pauses inside [start, end), in order (an open pause runs to end)."""
    start, end = to_utc(start), to_utc(end)
    parts = []
    for pause_start, pause_end in pauses:
        lo = max(to_utc(pause_start), start)
        hi = min(to_utc(pause_end) if pause_end is not None else end, end)
        if lo < hi:
            parts.append((lo, hi))
    return parts


def paused_days(pauses: Iterable[Span], start: datetime, end: datetime, tz: ZoneInfo) -> int:
    """Local days of [start, end) taken by pauses (never more than the window's days:
    pauses do not overlap, so their day counts do not either)."""
    return sum(days_between(lo, hi, tz) for lo, hi in clipped(pauses, start, end))


def base_fee_without_pauses(
    amount_cents: int,
    period: BillingPeriod,
    window_start: datetime,
    window_end: datetime,
    trial_ends_at: datetime | None,
    tz: ZoneInfo,
    pauses: Sequence[Span],
) -> BaseFee:
    """`base_fee` of the window, less its paused days (trial days are free anyway)."""
    fee = base_fee(amount_cents, period, window_start, window_end, trial_ends_at, tz)
    if not pauses or fee.days == 0:
        return fee
    start = max(to_utc(window_start), period.start)
    if trial_ends_at is not None:
        start = max(start, to_utc(trial_ends_at))
    end = min(to_utc(window_end), period.end)
    days = fee.days - paused_days(pauses, start, end, tz)
    return BaseFee(prorate(amount_cents, days, fee.full_days), days, fee.full_days)


def outside_pauses(events: Iterable[E], pauses: Sequence[Span]) -> list[E]:
    """The events not timestamped inside a pause (their order kept)."""
    if not pauses:
        return list(events)
    spans = [(to_utc(s), to_utc(e) if e is not None else None) for s, e in pauses]

    def paused(at: datetime) -> bool:
        return any(s <= at and (e is None or at < e) for s, e in spans)

    return [event for event in events if not paused(to_utc(event.timestamp))]
