"""Recurring top-ups, the pure part: when an interval rule is due, and how many credits a
rule tops up (Lago's RecurringTransactionRule#compute_paid_credits and
compute_granted_credits)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "yearly": 12}


def anniversary(anchor: datetime, interval: str, n: int) -> datetime:
    """The n-th anniversary of `anchor`; a day the month lacks becomes its last day."""
    if interval == "weekly":
        return anchor + timedelta(weeks=n)
    months = anchor.month - 1 + MONTHS[interval] * n
    year, month = anchor.year + months // 12, months % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def latest_anniversary(
    anchor: datetime, interval: str, now: datetime, *, include_anchor: bool
) -> datetime | None:
    """The last anniversary at or before `now` (the anchor itself only if asked), or None."""
    if now < anchor:
        return None
    if interval == "weekly":
        n = (now - anchor) // timedelta(weeks=1)
    else:
        step = MONTHS[interval]
        n = ((now.year - anchor.year) * 12 + now.month - anchor.month) // step + 1
        while n > 0 and anniversary(anchor, interval, n) > now:
            n -= 1
    if n == 0 and not include_anchor:
        return None
    return anniversary(anchor, interval, n)


@dataclass(frozen=True)
class RuleTerms:
    method: str  # fixed | target
    trigger: str  # interval | threshold
    paid_credits: Decimal
    granted_credits: Decimal
    threshold_credits: Decimal | None
    target_ongoing_balance: Decimal | None
    grants_target_top_up: bool
    ignore_limits: bool


@dataclass(frozen=True)
class TopUpCredits:
    paid: Decimal
    granted: Decimal


def top_up_credits(
    terms: RuleTerms,
    balance: Decimal,
    pending: Decimal,
    min_credits: Decimal | None,
    max_credits: Decimal | None,
) -> TopUpCredits:
    """What a rule tops up, as Lago computes it, for a wallet holding `balance` credits
    with `pending` credits bought but not yet paid."""
    if terms.method == "target":
        assert terms.target_ongoing_balance is not None
        gap = max(terms.target_ongoing_balance - balance, Decimal(0))
        if terms.grants_target_top_up:
            return TopUpCredits(Decimal(0), gap)
        if gap > 0 and min_credits is not None and not terms.ignore_limits:
            gap = max(gap, min_credits)
        return TopUpCredits(gap, Decimal(0))
    paid = terms.paid_credits
    if terms.trigger == "threshold" and paid > 0 and terms.threshold_credits is not None:
        gap = terms.threshold_credits - balance - terms.granted_credits - pending
        if gap >= paid:
            times = (gap / paid).to_integral_value(rounding=ROUND_FLOOR) + 1
            paid = paid * times
            if max_credits is not None and not terms.ignore_limits:
                paid = min(paid, max_credits)
    return TopUpCredits(paid, terms.granted_credits)
