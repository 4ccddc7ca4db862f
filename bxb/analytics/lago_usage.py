"""Lago's /analytics/usage: billed usage by billable metric and period.

Lago answers this route from its separate data service (events aggregated in its
warehouse). bxb answers from its ledger: the usage (charge) fees of finalized invoices
and the pay-in-advance fees on no invoice, bucketed by the start of the usage they bill
(`from_datetime`) at the asked granularity; units and amounts after coupons.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.analytics.revenue_periods import add_months, cents, month_start
from bxb.models import BillableMetric, Charge, Customer, Fee, Invoice, Plan, Subscription

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
    start = datetime.combine(filters.from_date, time(), tzinfo=UTC)
    end = datetime.combine(filters.to_date + timedelta(days=1), time(), tzinfo=UTC)
    day = func.date(func.timezone("UTC", Fee.from_datetime)).label("day")
    query = (
        select(
            day,
            Fee.amount_currency,
            BillableMetric.code,
            func.bool_or(BillableMetric.deleted_at.is_not(None)),
            func.sum(Fee.amount_cents - Fee.precise_coupons_amount_cents),
            func.sum(Fee.units),
        )
        .join(Charge, Charge.id == Fee.charge_id)
        .join(BillableMetric, BillableMetric.id == Charge.billable_metric_id)
        .join(Subscription, Subscription.id == Fee.subscription_id)
        .join(Customer, Customer.id == Subscription.customer_id)
        .outerjoin(Invoice, Invoice.id == Fee.invoice_id)
        .where(
            Fee.organization_id == organization_id,
            Fee.fee_type == "charge",
            Fee.from_datetime >= start,
            Fee.from_datetime < end,
            or_(
                Invoice.status == "finalized",
                and_(Fee.invoice_id.is_(None), Fee.pay_in_advance.is_(True)),
            ),
        )
        .group_by(day, Fee.amount_currency, BillableMetric.code)
    )
    if filters.currency is not None:
        query = query.where(Fee.amount_currency == filters.currency)
    if filters.customer_type is not None:
        query = query.where(Customer.customer_type == filters.customer_type)
    if filters.external_customer_id is not None:
        query = query.where(Customer.external_id == filters.external_customer_id)
    if filters.customer_country is not None:
        query = query.where(Customer.country == filters.customer_country)
    if filters.external_subscription_id is not None:
        query = query.where(Subscription.external_id == filters.external_subscription_id)
    if filters.is_billable_metric_recurring is not None:
        query = query.where(BillableMetric.recurring.is_(filters.is_billable_metric_recurring))
    if filters.billable_metric_code is not None:
        query = query.where(BillableMetric.code == filters.billable_metric_code)
    if filters.plan_code is not None:
        query = query.join(Plan, Plan.id == Charge.plan_id).where(Plan.code == filters.plan_code)
    sums: dict[tuple[date, date, str, str], list[Decimal]] = defaultdict(
        lambda: [Decimal(0), Decimal(0)]
    )
    deleted: dict[str, bool] = {}
    for on_day, code, metric, is_deleted, amount, units in (await session.execute(query)).all():
        first, last = bucket(on_day, filters.time_granularity)
        row = sums[(first, last, code, metric)]
        row[0] += amount
        row[1] += units
        deleted[metric] = deleted.get(metric, False) or bool(is_deleted)
    return [
        Usage(first, last, code, cents(amount), metric, units.normalize(), deleted[metric])
        for (first, last, code, metric), (amount, units) in sorted(sums.items())
    ]
