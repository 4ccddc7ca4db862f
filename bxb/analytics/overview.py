"""The dashboard's first screen: the organization's figures now, per currency, with the
last months as compact series for sparklines. Composed from the MRR and revenue figures
(each defined in docs/analytics.md), so it never disagrees with their own routes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bxb.analytics import revenue, revenue_customers
from bxb.analytics.movements import monthly_movements
from bxb.analytics.mrr import customer_counts, subscription_counts
from bxb.analytics.revenue_periods import add_months, month_start

SPARKLINE_MONTHS = 12


@dataclass
class CurrencyOverview:
    currency: str
    mrr_amount_cents: int = 0
    paying_customers: int = 0
    revenue_this_month_amount_cents: int = 0  # net of credit notes, before taxes
    overdue_amount_cents: int = 0
    overdue_invoices_count: int = 0
    # One value per month, oldest first, the current month last.
    months: list[date] = field(default_factory=list)
    mrr_series: list[int] = field(default_factory=list)
    revenue_series: list[int] = field(default_factory=list)

    @property
    def arr_amount_cents(self) -> int:
        return self.mrr_amount_cents * 12


@dataclass
class Overview:
    as_of: date
    customers: int
    subscriptions: dict[str, int]
    currencies: list[CurrencyOverview]


async def overview(
    session: AsyncSession,
    organization_id: uuid.UUID,
    today: date,
    currency: str | None = None,
) -> Overview:
    """The figures of `today`'s month (UTC), for `currency` or every currency the
    organization has MRR or revenue in. MRR is the MRR at the end of today's month (now,
    for the current month); the overdue balance is what invoices due before `today` owe
    now; customer and subscription counts are now's."""
    last = month_start(today)
    first = add_months(last, 1 - SPARKLINE_MONTHS)
    counts = await customer_counts(session, organization_id)
    paying = counts["paying_customers"]
    assert isinstance(paying, dict)
    billed = await revenue.currencies(session, organization_id)
    movements = await monthly_movements(
        session,
        organization_id,
        datetime(first.year, first.month, 1, tzinfo=UTC),
        datetime(last.year, last.month, 1, tzinfo=UTC),
        currency,
    )
    chosen = [currency] if currency else sorted({*movements, *billed})
    entries: list[CurrencyOverview] = []
    for code in chosen:
        series = await revenue.revenue_by_month(session, organization_id, code, first, last)
        late = await revenue_customers.overdue(session, organization_id, code, today)
        mrr_series = [m.ending_mrr for m in movements.get(code, [])] or [0] * len(series)
        entries.append(
            CurrencyOverview(
                currency=code,
                mrr_amount_cents=mrr_series[-1],
                paying_customers=int(paying.get(code, 0)),
                revenue_this_month_amount_cents=series[-1].net_amount_cents,
                overdue_amount_cents=late.amount_cents,
                overdue_invoices_count=late.invoices_count,
                months=[point.start for point in series],
                mrr_series=mrr_series,
                revenue_series=[point.net_amount_cents for point in series],
            )
        )
    customers = counts["customers"]
    assert isinstance(customers, int)
    return Overview(
        as_of=today,
        customers=customers,
        subscriptions=await subscription_counts(session, organization_id),
        currencies=entries,
    )
