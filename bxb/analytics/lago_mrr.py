"""Lago's /analytics/mrr: subscription fees of finalized invoices spread over months.

As Lago's server (app/models/analytics/mrr.rb): a fee counts after coupons and with its
taxes. Monthly plans count in the issuing month. Quarterly, semiannual and yearly fees are
spread over the months they bill (`billed_months` = the fee's period in days / 30.44):
in advance forward from the issuing month (the first month prorated by the days left in
it, the last taking the remainder), in arrears backward, evenly, the oldest month taking
the remainder. Weekly fees: per month, the average weekly fee times 4.33.
"""

from __future__ import annotations

import math
import uuid
from calendar import monthrange
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.analytics.revenue_periods import (
    add_months,
    cents,
    lago_first_month,
    month_start,
    months_between,
)
from bxb.models import Organization, RevenueFeeDaily

DAYS_PER_MONTH = Decimal("30.44")
WEEKS_PER_MONTH = Decimal("4.33")
MAX_SPREAD_MONTHS = 13


@dataclass(frozen=True)
class Mrr:
    month: date
    currency: str | None
    amount_cents: int | None


def spread(
    amount: Decimal, issued: date, seconds: int, pay_in_advance: bool
) -> list[tuple[date, Decimal]]:
    """One fee's (or a sum of alike fees') share of each month, as Lago spreads it."""
    billed = Decimal(seconds // 60) / Decimal(1440) / DAYS_PER_MONTH
    first = month_start(issued)
    if billed <= 0:
        return [(first, amount)]
    count = math.ceil(billed)
    per_month = amount / billed
    shares: list[tuple[date, Decimal]] = []
    if pay_in_advance:
        days_in_month = monthrange(issued.year, issued.month)[1]
        left = Decimal(days_in_month - issued.day + 1) / Decimal(days_in_month)
        for index in range(count):
            if index == 0:
                share = per_month * left
            elif index == count - 1:
                share = amount - per_month * (math.floor(billed) - 1 + left)
            else:
                share = per_month
            shares.append((add_months(first, index), share))
        if count == 1:
            shares = [(first, per_month * left)]
    else:
        for index in range(count):
            share = per_month if index < count - 1 else amount - per_month * (count - 1)
            shares.append((add_months(first, -index), share))
    return shares


async def mrrs(
    session: AsyncSession,
    organization_id: uuid.UUID,
    currency: str | None,
    *,
    today: date,
    months: int | None = None,
) -> list[Mrr]:
    r = RevenueFeeDaily
    query = (
        select(
            r.day,
            r.currency,
            r.plan_interval,
            r.pay_in_advance,
            r.period_seconds,
            func.sum(r.amount_cents + r.taxes_amount_cents),
            func.sum(r.fees_count),
        )
        .where(r.organization_id == organization_id, r.category == "subscription")
        .group_by(r.day, r.currency, r.plan_interval, r.pay_in_advance, r.period_seconds)
    )
    if currency is not None:
        query = query.where(r.currency == currency)
    earliest = lago_first_month(today, months)
    if earliest is not None:
        # A fee spreads over at most a year (yearly plans) around its issuing month.
        query = query.where(r.day >= add_months(earliest, -MAX_SPREAD_MONTHS))
    totals: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    weekly: dict[tuple[date, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 2)
    for day, code, interval, advance, seconds, amount, count in (
        await session.execute(query)
    ).all():
        if not count:
            continue
        if interval == "weekly":
            weekly[(month_start(day), code)][0] += amount
            weekly[(month_start(day), code)][1] += count
        elif interval in ("quarterly", "semiannual", "yearly"):
            for month, share in spread(Decimal(amount), day, seconds, advance):
                totals[(month, code)] += share
        else:
            totals[(month_start(day), code)] += amount
    for key, (weekly_amount, weekly_count) in weekly.items():
        totals[key] += weekly_amount / weekly_count * WEEKS_PER_MONTH
    last = month_start(today)
    first = lago_first_month(today, months)
    if first is None:
        created = await session.scalar(
            select(Organization.created_at).where(Organization.id == organization_id)
        )
        data_months = [month for month, _ in totals]
        candidates = [*data_months, *([month_start(created.date())] if created else [])]
        first = min(candidates) if candidates else last
    by_month: dict[date, list[tuple[str, Decimal]]] = defaultdict(list)
    for (month, code), amount in totals.items():
        by_month[month].append((code, amount))
    rows: list[Mrr] = []
    for month in months_between(first, last):
        found = sorted(by_month.get(month, []))
        if found:
            rows.extend(Mrr(month, code, cents(amount)) for code, amount in found)
        elif currency is None:
            rows.append(Mrr(month, None, None))
    return rows
