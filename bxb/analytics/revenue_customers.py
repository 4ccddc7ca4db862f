"""Top customers by revenue, and the overdue balance with its aging."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Subquery, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.analytics.revenue_periods import add_months, cents
from bxb.models import (
    Customer,
    RevenueCustomerMonthly,
    RevenueCustomerPeriod,
    RevenueOutstandingDaily,
)
from bxb.models.revenue_rollup import ALL_TIME_PERIOD

# Days past due: 1-30, 31-60, 61-90, more than 90.
AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0_30", 1, 30),
    ("31_60", 31, 60),
    ("61_90", 61, 90),
    ("over_90", 91, None),
)


@dataclass(frozen=True)
class CustomerRevenue:
    lago_customer_id: uuid.UUID
    external_customer_id: str
    name: str | None
    amount_cents: int


@dataclass(frozen=True)
class AgingBucket:
    bucket: str
    amount_cents: int
    invoices_count: int


@dataclass(frozen=True)
class Overdue:
    currency: str
    as_of: date
    amount_cents: int
    invoices_count: int
    aging: list[AgingBucket]


PERIODS = ("month", "quarter", "year", "all_time")


@dataclass(frozen=True)
class Period:
    """A calendar period: `granularity` one of PERIODS, `start` its first day
    (ALL_TIME_PERIOD for all time)."""

    granularity: str
    start: date


def calendar_period(granularity: str, anchor: date) -> Period:
    """The month, quarter, year (or all time) holding `anchor`."""
    if granularity == "month":
        return Period(granularity, anchor.replace(day=1))
    if granularity == "quarter":
        return Period(granularity, date(anchor.year, (anchor.month - 1) // 3 * 3 + 1, 1))
    if granularity == "year":
        return Period(granularity, date(anchor.year, 1, 1))
    if granularity == "all_time":
        return Period(granularity, ALL_TIME_PERIOD)
    raise ValueError(f"unknown period {granularity!r}")


def exact_period(first_month: date, last_month: date) -> Period | None:
    """The calendar period that is exactly the months first_month..last_month, if any."""
    first, last = first_month.replace(day=1), last_month.replace(day=1)
    if first == last:
        return Period("month", first)
    if first.month % 3 == 1 and last == add_months(first, 2):
        return Period("quarter", first)
    if first.month == 1 and last == date(first.year, 12, 1):
        return Period("year", first)
    return None


async def top_customers(
    session: AsyncSession,
    organization_id: uuid.UUID,
    currency: str,
    first_month: date,
    last_month: date,
    limit: int = 10,
) -> list[CustomerRevenue]:
    """Customers with the most revenue (fees before taxes, after coupons, less credit
    notes) over the months from first_month to last_month, largest first. A window that
    is exactly a calendar month, quarter or year reads that period's rollup."""
    period = exact_period(first_month, last_month)
    if period is not None:
        return await top_customers_of_period(session, organization_id, currency, period, limit)
    return await top_customers_summed(
        session, organization_id, currency, first_month, last_month, limit
    )


async def top_customers_summed(
    session: AsyncSession,
    organization_id: uuid.UUID,
    currency: str,
    first_month: date,
    last_month: date,
    limit: int = 10,
) -> list[CustomerRevenue]:
    """Top customers over any months: each customer's months summed (every customer of
    the window, before the top ones are known)."""
    # Every customer of the window is summed before the top ones are known: room enough
    # to hash them in memory rather than sort them on disk.
    await session.execute(text("SET LOCAL work_mem = '32MB'"))
    m = RevenueCustomerMonthly
    total = func.sum(m.amount_cents).label("total")
    ranked = (
        select(m.customer_id, total)
        .where(
            m.organization_id == organization_id,
            m.currency == currency,
            m.month >= first_month,
            m.month <= last_month,
            # Zero months change no sum; the condition lets the partial top-N index
            # (which holds customer and amount) answer without the heap.
            m.amount_cents != 0,
        )
        .group_by(m.customer_id)
        .having(func.sum(m.amount_cents) != 0)
        .order_by(total.desc(), m.customer_id)
        .limit(limit)
        .subquery()
    )
    return await _with_customers(session, ranked)


async def top_customers_of_period(
    session: AsyncSession,
    organization_id: uuid.UUID,
    currency: str,
    period: Period,
    limit: int = 10,
) -> list[CustomerRevenue]:
    """Top customers of one calendar period: the first `limit` entries of the period's
    rollup index (amount descending, then customer id), not a sum over customers."""
    ranked: Subquery
    if period.granularity == "month":
        m = RevenueCustomerMonthly
        ranked = (
            select(m.customer_id, m.amount_cents.label("total"))
            .where(
                m.organization_id == organization_id,
                m.currency == currency,
                m.month == period.start,
                m.amount_cents != 0,
            )
            .order_by(m.amount_cents.desc(), m.customer_id)
            .limit(limit)
            .subquery()
        )
    else:
        p = RevenueCustomerPeriod
        ranked = (
            select(p.customer_id, p.amount_cents.label("total"))
            .where(
                p.organization_id == organization_id,
                p.currency == currency,
                p.granularity == period.granularity,
                p.period == period.start,
                p.amount_cents != 0,
            )
            .order_by(p.amount_cents.desc(), p.customer_id)
            .limit(limit)
            .subquery()
        )
    return await _with_customers(session, ranked)


async def _with_customers(session: AsyncSession, ranked: Subquery) -> list[CustomerRevenue]:
    rows = await session.execute(
        select(Customer.id, Customer.external_id, Customer.name, ranked.c.total)
        .join(ranked, ranked.c.customer_id == Customer.id)
        .order_by(ranked.c.total.desc(), Customer.id)
    )
    return [
        CustomerRevenue(customer_id, external_id, name, cents(amount))
        for customer_id, external_id, name, amount in rows.all()
    ]


async def overdue(
    session: AsyncSession, organization_id: uuid.UUID, currency: str, as_of: date
) -> Overdue:
    """Finalized invoices not paid (pending or failed) whose payment due date is before
    as_of: what they still owe (total less what was paid), by how late they are."""
    o = RevenueOutstandingDaily
    rows = (
        await session.execute(
            select(o.due_date, o.amount_cents, o.invoices_count).where(
                o.organization_id == organization_id,
                o.currency == currency,
                o.due_date < as_of,
                o.invoices_count != 0,
            )
        )
    ).all()
    aging: list[AgingBucket] = []
    for name, low, high in AGING_BUCKETS:
        latest = as_of - timedelta(days=low)
        earliest = None if high is None else as_of - timedelta(days=high)
        inside = [r for r in rows if r[0] <= latest and (earliest is None or r[0] >= earliest)]
        aging.append(AgingBucket(name, sum(r[1] for r in inside), sum(r[2] for r in inside)))
    return Overdue(
        currency,
        as_of,
        sum(b.amount_cents for b in aging),
        sum(b.invoices_count for b in aging),
        aging,
    )
