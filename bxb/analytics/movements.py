"""Monthly MRR figures per currency from the recorded movements (bxb.ledger.mrr_movements).

Read from their monthly rollup (mrr_monthly_totals, exact: written with each movement):
the balance before the first month (starting MRR and paying customers) and each month's
counts and sums per kind, a few dozen rows whatever the number of subscriptions. Every
other figure (churn, retention, ARPA, LTV) is arithmetic on these (movements_figures.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.analytics.mrr_months import add_months, months
from bxb.models import MrrMonthlyTotal

KINDS = ("new", "expansion", "contraction", "churn", "reactivation")


@dataclass
class MonthMovements:
    """One month of one currency: MRR at its start, and what moved it, in cents.

    contraction and churned are amounts lost (positive numbers); customers are paying
    customers (MRR above zero in the currency).
    """

    month: datetime
    starting_mrr: int = 0
    new: int = 0
    expansion: int = 0
    contraction: int = 0
    churned: int = 0
    reactivation: int = 0
    customers_at_start: int = 0
    new_customers: int = 0
    churned_customers: int = 0
    reactivated_customers: int = 0
    # count of movements per kind (expansions and contractions are movements, not customers)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def net(self) -> int:
        return self.new + self.expansion + self.reactivation - self.contraction - self.churned

    @property
    def ending_mrr(self) -> int:
        return self.starting_mrr + self.net

    @property
    def customers_at_end(self) -> int:
        return (
            self.customers_at_start
            + self.new_customers
            + self.reactivated_customers
            - self.churned_customers
        )

    def add(self, kind: str, count: int, delta: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + count
        if kind == "new":
            self.new += delta
            self.new_customers += count
        elif kind == "expansion":
            self.expansion += delta
        elif kind == "contraction":
            self.contraction -= delta
        elif kind == "churn":
            self.churned -= delta
            self.churned_customers += count
        elif kind == "reactivation":
            self.reactivation += delta
            self.reactivated_customers += count


async def monthly_movements(
    session: AsyncSession,
    organization_id: uuid.UUID,
    first: datetime,
    last: datetime,
    currency: str | None = None,
) -> dict[str, list[MonthMovements]]:
    """Per currency (all the organization's, or `currency` alone), one entry per month
    from `first` to `last` (month starts, both included), zero-filled."""
    end = add_months(last, 1)
    total = MrrMonthlyTotal
    scope = [total.organization_id == organization_id]
    if currency is not None:
        scope.append(total.currency == currency)
    before = await session.execute(
        select(total.currency, total.kind, func.sum(total.movements), func.sum(total.delta_cents))
        .where(*scope, total.month < first)
        .group_by(total.currency, total.kind)
    )
    within = await session.execute(
        select(total.currency, total.month, total.kind, total.movements, total.delta_cents).where(
            *scope, total.month >= first, total.month < end
        )
    )
    opening: dict[str, MonthMovements] = {}
    for cur, kind, n, delta in before.all():
        opening.setdefault(cur, MonthMovements(first)).add(kind, int(n), int(delta))
    moved: dict[tuple[str, datetime], MonthMovements] = {}
    for cur, at, kind, n, delta in within.all():
        moved.setdefault((cur, at), MonthMovements(at)).add(kind, int(n), int(delta))
    currencies = {*opening, *(cur for cur, _ in moved)}
    if currency is not None:
        currencies.add(currency)
    result: dict[str, list[MonthMovements]] = {}
    for cur in sorted(currencies):
        balance = opening.get(cur, MonthMovements(first))
        mrr, customers = balance.ending_mrr, balance.customers_at_end
        series = []
        for start in months(first, last):
            entry = moved.get((cur, start), MonthMovements(start))
            entry.starting_mrr, entry.customers_at_start = mrr, customers
            mrr, customers = entry.ending_mrr, entry.customers_at_end
            series.append(entry)
        result[cur] = series
    return result
