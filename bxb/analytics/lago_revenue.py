"""Lago's gross_revenue, invoice_collection, invoiced_usage and overdue_balance.

Definitions as Lago's server computes them (app/models/analytics/*.rb), read from the
revenue rollups; see docs/analytics.md, "Revenue", for where bxb differs. Rows are
returned in Lago's item shape (bxb.lago_objects.analytics renders them).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Text, and_, cast, func, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.analytics.revenue_periods import cents, lago_first_month, month_start, months_between
from bxb.models import (
    CreditNote,
    Customer,
    Fee,
    Invoice,
    Organization,
    RevenueFeeDaily,
    RevenueInvoiceDaily,
    Subscription,
)


@dataclass(frozen=True)
class GrossRevenue:
    month: date
    currency: str
    amount_cents: int
    invoices_count: int


@dataclass(frozen=True)
class InvoiceCollection:
    month: date
    currency: str | None
    payment_status: str | None
    invoices_count: int
    amount_cents: int


@dataclass(frozen=True)
class InvoicedUsage:
    month: date
    code: str
    currency: str
    amount_cents: int


@dataclass(frozen=True)
class OverdueBalance:
    month: date
    currency: str
    amount_cents: int
    lago_invoice_ids: list[str]


def _window(today: date, months: int | None) -> tuple[date | None, date]:
    """Lago's buckets: months up to the current one, the last `months` if given."""
    return lago_first_month(today, months), month_start(today)


async def gross_revenues(
    session: AsyncSession,
    organization_id: uuid.UUID,
    currency: str | None,
    *,
    today: date,
    months: int | None = None,
    external_customer_id: str | None = None,
) -> list[GrossRevenue]:
    """Finalized invoices' totals less their credit notes' refunds, by issuing month, plus
    pay-in-advance fees on no invoice by the month they were created."""
    if external_customer_id is not None:
        return await gross_revenues_from_ledger(
            session,
            organization_id,
            currency,
            today=today,
            months=months,
            external_customer_id=external_customer_id,
        )
    first, last = _window(today, months)
    month = func.date_trunc("month", RevenueInvoiceDaily.day).label("month")
    query = (
        select(
            month,
            RevenueInvoiceDaily.currency,
            func.sum(RevenueInvoiceDaily.invoices_count),
            func.sum(
                RevenueInvoiceDaily.total_amount_cents - RevenueInvoiceDaily.refund_amount_cents
            ),
        )
        .where(RevenueInvoiceDaily.organization_id == organization_id)
        .group_by(month, RevenueInvoiceDaily.currency)
    )
    instant_month = func.date_trunc("month", RevenueFeeDaily.day).label("month")
    instant = (
        select(
            instant_month,
            RevenueFeeDaily.currency,
            func.sum(RevenueFeeDaily.fees_count),
            func.sum(RevenueFeeDaily.amount_cents),
        )
        .where(
            RevenueFeeDaily.organization_id == organization_id,
            RevenueFeeDaily.category == "instant",
        )
        .group_by(instant_month, RevenueFeeDaily.currency)
    )
    if currency is not None:
        query = query.where(RevenueInvoiceDaily.currency == currency)
        instant = instant.where(RevenueFeeDaily.currency == currency)
    if first is not None:
        query = query.where(RevenueInvoiceDaily.day >= first)
        instant = instant.where(RevenueFeeDaily.day >= first)
    totals: dict[tuple[date, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for stamp, code, count, amount in (await session.execute(query)).all():
        row = totals[(stamp.date(), code)]
        row[0] += count
        row[2] += amount
    for stamp, code, count, amount in (await session.execute(instant)).all():
        row = totals[(stamp.date(), code)]
        row[1] += count
        row[2] += amount
    return [
        GrossRevenue(month, code, cents(amount), int(invoices))
        for (month, code), (invoices, instants, amount) in sorted(totals.items())
        if (invoices or instants) and (first is None or month >= first) and month <= last
    ]


async def gross_revenues_from_ledger(
    session: AsyncSession,
    organization_id: uuid.UUID,
    currency: str | None,
    *,
    today: date,
    months: int | None = None,
    external_customer_id: str | None = None,
) -> list[GrossRevenue]:
    """The same figure recomputed from invoices, fees and credit notes (no rollup): used
    for one customer, and by the tests that prove the rollups exact."""
    first, last = _window(today, months)
    refunds = (
        select(CreditNote.invoice_id, func.sum(CreditNote.refund_amount_cents).label("refunds"))
        .where(CreditNote.organization_id == organization_id)
        .group_by(CreditNote.invoice_id)
        .subquery()
    )
    month = func.date_trunc("month", Invoice.issuing_date).label("month")
    invoices = (
        select(
            month,
            Invoice.currency,
            func.count(),
            func.sum(Invoice.total_amount_cents - func.coalesce(refunds.c.refunds, 0)),
        )
        .join(Customer, Customer.id == Invoice.customer_id)
        .outerjoin(refunds, refunds.c.invoice_id == Invoice.id)
        .where(Invoice.organization_id == organization_id, Invoice.status == "finalized")
        .group_by(month, Invoice.currency)
    )
    fee_month = func.date_trunc("month", func.timezone("UTC", Fee.created_at)).label("month")
    instant = (
        select(
            fee_month,
            Fee.amount_currency,
            func.count(),
            func.sum(Fee.amount_cents - Fee.precise_coupons_amount_cents),
        )
        .outerjoin(Subscription, Subscription.id == Fee.subscription_id)
        .outerjoin(Customer, Customer.id == Subscription.customer_id)
        .where(
            Fee.organization_id == organization_id,
            text("fees.invoice_id IS NULL AND fees.pay_in_advance"),  # a partial index's
        )
        .group_by(fee_month, Fee.amount_currency)
    )
    if external_customer_id is not None:
        live = and_(Customer.external_id == external_customer_id, Customer.deleted_at.is_(None))
        invoices = invoices.where(live)
        instant = instant.where(live)
    if currency is not None:
        invoices = invoices.where(Invoice.currency == currency)
        instant = instant.where(Fee.amount_currency == currency)
    totals: dict[tuple[date, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 2)
    for stamp, code, count, amount in (await session.execute(invoices)).all():
        totals[(stamp.date(), code)][0] += count
        totals[(stamp.date(), code)][1] += amount
    for stamp, code, _count, amount in (await session.execute(instant)).all():
        totals[(stamp.date(), code)][1] += amount
    return [
        GrossRevenue(month, code, cents(amount), int(count))
        for (month, code), (count, amount) in sorted(totals.items())
        if (first is None or month >= first) and month <= last
    ]


async def _first_month(session: AsyncSession, organization_id: uuid.UUID, today: date) -> date:
    """Lago's series start at the organization's creation month; bxb also reaches back
    to the first invoice (test clocks bill before the organization was created)."""
    created = await session.scalar(
        select(Organization.created_at).where(Organization.id == organization_id)
    )
    first_day = await session.scalar(
        select(func.min(RevenueInvoiceDaily.day)).where(
            RevenueInvoiceDaily.organization_id == organization_id
        )
    )
    candidates = [d for d in (created.date() if created else None, first_day) if d is not None]
    return month_start(min(candidates)) if candidates else month_start(today)


async def invoice_collections(
    session: AsyncSession,
    organization_id: uuid.UUID,
    currency: str | None,
    *,
    today: date,
    months: int | None = None,
) -> list[InvoiceCollection]:
    """Finalized invoices by issuing month and payment status: count and total. Without a
    currency, a month with none still has its row (null status and currency), as Lago."""
    first, last = _window(today, months)
    month = func.date_trunc("month", RevenueInvoiceDaily.day).label("month")
    r = RevenueInvoiceDaily
    query = (
        select(
            month,
            r.currency,
            func.sum(r.pending_count),
            func.sum(r.pending_amount_cents),
            func.sum(r.succeeded_count),
            func.sum(r.succeeded_amount_cents),
            func.sum(r.failed_count),
            func.sum(r.failed_amount_cents),
        )
        .where(r.organization_id == organization_id)
        .group_by(month, r.currency)
    )
    if currency is not None:
        query = query.where(r.currency == currency)
    if first is not None:
        query = query.where(r.day >= first)
    found: dict[date, list[InvoiceCollection]] = defaultdict(list)
    for stamp, code, *sums in (await session.execute(query)).all():
        for status, position in (("failed", 4), ("pending", 0), ("succeeded", 2)):
            count, amount = int(sums[position]), int(sums[position + 1])
            if count:
                found[stamp.date()].append(
                    InvoiceCollection(stamp.date(), code, status, count, amount)
                )
    start = first if first is not None else await _first_month(session, organization_id, today)
    rows: list[InvoiceCollection] = []
    for month_ in months_between(start, last):
        items = sorted(
            found.get(month_, []), key=lambda c: (c.payment_status or "", c.currency or "")
        )
        if items:
            rows.extend(items)
        elif currency is None:
            rows.append(InvoiceCollection(month_, None, None, 0, 0))
    return rows


async def invoiced_usages(
    session: AsyncSession,
    organization_id: uuid.UUID,
    currency: str | None,
    *,
    today: date,
    months: int | None = None,
) -> list[InvoicedUsage]:
    """Usage (charge) fees of finalized invoices, less coupons, by issuing month and
    billable metric; newest month first, then the largest amount first (Lago's order)."""
    first, last = _window(today, months)
    month = func.date_trunc("month", RevenueFeeDaily.day).label("month")
    query = (
        select(
            month,
            RevenueFeeDaily.metric_code,
            RevenueFeeDaily.currency,
            func.sum(RevenueFeeDaily.amount_cents),
            func.sum(RevenueFeeDaily.fees_count),
        )
        .where(
            RevenueFeeDaily.organization_id == organization_id,
            RevenueFeeDaily.category == "charge",
        )
        .group_by(month, RevenueFeeDaily.metric_code, RevenueFeeDaily.currency)
    )
    if currency is not None:
        query = query.where(RevenueFeeDaily.currency == currency)
    if first is not None:
        query = query.where(RevenueFeeDaily.day >= first)
    rows = [
        InvoicedUsage(stamp.date(), code, cur, cents(amount))
        for stamp, code, cur, amount, count in (await session.execute(query)).all()
        if count and (first is None or stamp.date() >= first) and stamp.date() <= last
    ]
    return sorted(rows, key=lambda u: (-u.month.toordinal(), -u.amount_cents, u.code))


async def overdue_balances(
    session: AsyncSession,
    organization_id: uuid.UUID,
    currency: str | None,
    *,
    today: date,
    months: int | None = None,
    external_customer_id: str | None = None,
) -> list[OverdueBalance]:
    """Invoices marked payment_overdue: what they still owe, by month of their due date.

    Read from the invoices (a partial index holds the overdue ones): Lago lists each
    invoice's id, so there is no smaller sum to keep."""
    first, last = _window(today, months)
    # Tens of thousands of ids to sort by month: in memory, not in temporary files.
    await session.execute(text("SET LOCAL work_mem = '32MB'"))
    month = func.date_trunc("month", Invoice.payment_due_date).label("month")
    query = (
        select(
            month,
            Invoice.currency,
            func.sum(Invoice.total_amount_cents - Invoice.total_paid_amount_cents),
            func.array_agg(aggregate_order_by(cast(Invoice.id, Text), Invoice.id)),
        )
        .where(
            Invoice.organization_id == organization_id,
            # Literal, so that even a generic plan can use the partial index.
            text("invoices.payment_overdue AND invoices.status = 'finalized'"),
        )
        .group_by(month, Invoice.currency)
        .order_by(month, Invoice.currency)
    )
    if external_customer_id is not None:
        query = query.join(Customer, Customer.id == Invoice.customer_id).where(
            Customer.external_id == external_customer_id, Customer.deleted_at.is_(None)
        )
    if currency is not None:
        query = query.where(Invoice.currency == currency)
    return [
        OverdueBalance(stamp.date(), code, int(amount), ids)
        for stamp, code, amount, ids in (await session.execute(query)).all()
        if (first is None or stamp.date() >= first) and stamp.date() <= last
    ]
