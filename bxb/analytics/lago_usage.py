"""Lago's /analytics/usage: billed usage by billable metric and period.

Lago answers this route from its separate data service (events aggregated in its
warehouse). bxb answers from its ledger: the usage (charge) fees of finalized invoices
by their issuing day and the pay-in-advance fees on no invoice by the day they were
created, at the asked granularity; units, and amounts after coupons before taxes.

Without a customer or subscription filter the figure is read from the fee rollup
(bxb.models.revenue_rollup); with one, from the fees of that customer or subscription.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.analytics.revenue_periods import add_months, cents, month_start
from bxb.models import (
    BillableMetric,
    Charge,
    Customer,
    Fee,
    Invoice,
    Plan,
    RevenueFeeDaily,
    Subscription,
)

GRANULARITIES = ("daily", "weekly", "monthly")


@dataclass(frozen=True)
class UsageFilters:
    from_date: date
    to_date: date
    time_granularity: str = "daily"
    currency: str | None = None
    customer_type: str | None = None
    external_customer_id: str | None = None
    customer_country: str | None = None
    external_subscription_id: str | None = None
    is_billable_metric_recurring: bool | None = None
    plan_code: str | None = None
    billable_metric_code: str | None = None


@dataclass(frozen=True)
class Usage:
    start_of_period_dt: date
    end_of_period_dt: date
    amount_currency: str
    amount_cents: int
    billable_metric_code: str
    units: Decimal
    is_billable_metric_deleted: bool


def bucket(day: date, granularity: str) -> tuple[date, date]:
    if granularity == "monthly":
        start = month_start(day)
        return start, add_months(start, 1) - timedelta(days=1)
    if granularity == "weekly":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    return day, day


async def usages(
    session: AsyncSession, organization_id: uuid.UUID, filters: UsageFilters
) -> list[Usage]:
    per_customer = (
        filters.customer_type,
        filters.external_customer_id,
        filters.customer_country,
        filters.external_subscription_id,
    )
    if any(value is not None for value in per_customer):
        days = await _from_fees(session, organization_id, filters)
    else:
        days = await _from_rollup(session, organization_id, filters)
    metrics = (
        await session.execute(
            select(BillableMetric.code, BillableMetric.deleted_at.is_(None)).where(
                BillableMetric.organization_id == organization_id
            )
        )
    ).all()
    live = {code for code, alive in metrics if alive}
    sums: dict[tuple[date, date, str, str], list[Decimal]] = defaultdict(
        lambda: [Decimal(0), Decimal(0)]
    )
    for on_day, code, metric, amount, units in days:
        first, last = bucket(on_day, filters.time_granularity)
        row = sums[(first, last, code, metric)]
        row[0] += amount
        row[1] += units
    return [
        Usage(first, last, code, cents(amount), metric, units.normalize(), metric not in live)
        for (first, last, code, metric), (amount, units) in sorted(sums.items())
    ]


DayRow = tuple[date, str, str, Decimal, Decimal]


async def _recurring_codes(session: AsyncSession, organization_id: uuid.UUID) -> set[str]:
    return set(
        await session.scalars(
            select(BillableMetric.code).where(
                BillableMetric.organization_id == organization_id,
                BillableMetric.recurring.is_(True),
            )
        )
    )


async def _from_rollup(
    session: AsyncSession, organization_id: uuid.UUID, filters: UsageFilters
) -> list[DayRow]:
    r = RevenueFeeDaily
    query = (
        select(r.day, r.currency, r.metric_code, func.sum(r.amount_cents), func.sum(r.units))
        .where(
            r.organization_id == organization_id,
            r.category.in_(("charge", "instant")),
            r.day >= filters.from_date,
            r.day <= filters.to_date,
        )
        .group_by(r.day, r.currency, r.metric_code)
        .having(func.sum(r.fees_count) != 0)
    )
    if filters.currency is not None:
        query = query.where(r.currency == filters.currency)
    if filters.plan_code is not None:
        query = query.where(r.plan_code == filters.plan_code)
    if filters.billable_metric_code is not None:
        query = query.where(r.metric_code == filters.billable_metric_code)
    if filters.is_billable_metric_recurring is not None:
        recurring = await _recurring_codes(session, organization_id)
        wanted = r.metric_code.in_(recurring)
        query = query.where(wanted if filters.is_billable_metric_recurring else ~wanted)
    return [
        (day, code, metric, amount, units)
        for day, code, metric, amount, units in (await session.execute(query)).all()
    ]


async def _from_fees(
    session: AsyncSession, organization_id: uuid.UUID, filters: UsageFilters
) -> list[DayRow]:
    """The same sums from the fees of the customers (or subscription) asked for: their
    finalized invoices' charge fees, and their instant fees on no invoice."""
    customers = select(Customer.id).where(Customer.organization_id == organization_id)
    if filters.customer_type is not None:
        customers = customers.where(Customer.customer_type == filters.customer_type)
    if filters.external_customer_id is not None:
        customers = customers.where(
            Customer.external_id == filters.external_customer_id, Customer.deleted_at.is_(None)
        )
    if filters.customer_country is not None:
        customers = customers.where(Customer.country == filters.customer_country)
    subscriptions = select(Subscription.id).where(
        Subscription.organization_id == organization_id,
        Subscription.external_id == filters.external_subscription_id,
    )
    if filters.external_subscription_id is not None:
        customers = customers.where(
            Customer.id.in_(
                select(Subscription.customer_id).where(
                    Subscription.organization_id == organization_id,
                    Subscription.external_id == filters.external_subscription_id,
                )
            )
        )

    def narrowed(query: Any) -> Any:  # a Select of any columns
        query = query.join(Charge, Charge.id == Fee.charge_id).join(
            BillableMetric, BillableMetric.id == Charge.billable_metric_id
        )
        if filters.external_subscription_id is not None:
            query = query.where(Fee.subscription_id.in_(subscriptions))
        if filters.currency is not None:
            query = query.where(Fee.amount_currency == filters.currency)
        if filters.is_billable_metric_recurring is not None:
            query = query.where(BillableMetric.recurring.is_(filters.is_billable_metric_recurring))
        if filters.billable_metric_code is not None:
            query = query.where(BillableMetric.code == filters.billable_metric_code)
        if filters.plan_code is not None:
            query = query.join(Plan, Plan.id == Charge.plan_id).where(
                Plan.code == filters.plan_code
            )
        return query

    amount = func.sum(Fee.amount_cents - Fee.precise_coupons_amount_cents)
    invoiced = narrowed(
        select(
            Invoice.issuing_date,
            Fee.amount_currency,
            BillableMetric.code,
            amount,
            func.sum(Fee.units),
        )
        .select_from(Invoice)
        .join(Fee, Fee.invoice_id == Invoice.id)
        .where(
            Invoice.organization_id == organization_id,
            Invoice.customer_id.in_(customers),
            Invoice.status == "finalized",
            Invoice.issuing_date >= filters.from_date,
            Invoice.issuing_date <= filters.to_date,
            Fee.fee_type == "charge",
        )
    ).group_by(Invoice.issuing_date, Fee.amount_currency, BillableMetric.code)
    created_day = func.date(func.timezone("UTC", Fee.created_at))
    instant = narrowed(
        select(created_day, Fee.amount_currency, BillableMetric.code, amount, func.sum(Fee.units))
        .select_from(Fee)
        .join(Subscription, Subscription.id == Fee.subscription_id)
        .where(
            Fee.organization_id == organization_id,
            text("fees.invoice_id IS NULL AND fees.pay_in_advance"),  # a partial index's
            Subscription.customer_id.in_(customers),
            Fee.fee_type == "charge",
            created_day >= filters.from_date,
            created_day <= filters.to_date,
        )
    ).group_by(created_day, Fee.amount_currency, BillableMetric.code)
    rows: list[DayRow] = []
    for query in (invoiced, instant):
        rows += [
            (on_day, code, metric, Decimal(total), units)
            for on_day, code, metric, total, units in (await session.execute(query)).all()
        ]
    return rows
