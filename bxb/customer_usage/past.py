"""Past usage: what the charges of a subscription's closed periods invoiced (Lago's
`/customers/{id}/past_usage`, `PastUsageQuery`).

A period is an invoice carrying charge fees of the subscription (every plan segment that
had its external id: a plan change keeps the external id); its window is that of its
charge fees. Voided invoices are left out (their usage was not billed). Newest first;
`periods_count` keeps the N newest periods, paged within them; `billable_metric_code`
keeps the charges of that metric (an unknown code is Lago's 404 billable_metric_not_found).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bxb.lago_objects.usage import past_usage_object
from bxb.models import BillableMetric, Charge, Fee, Invoice, Subscription


class UnknownMetricError(LookupError):
    """No billable metric of the organization has that code."""


@dataclass(frozen=True)
class PastUsagePage:
    usage_periods: list[dict[str, Any]]
    total_count: int


async def past_usage(
    session: AsyncSession,
    organization_id: uuid.UUID,
    customer_id: uuid.UUID,
    external_subscription_id: str,
    *,
    offset: int,
    limit: int,
    billable_metric_code: str | None = None,
    periods_count: int | None = None,
) -> PastUsagePage:
    metric_id: uuid.UUID | None = None
    if billable_metric_code is not None:
        metric_id = await session.scalar(
            select(BillableMetric.id).where(
                BillableMetric.organization_id == organization_id,
                BillableMetric.code == billable_metric_code,
            )
        )
        if metric_id is None:
            raise UnknownMetricError(billable_metric_code)
    segments = select(Subscription.id).where(
        Subscription.organization_id == organization_id,
        Subscription.customer_id == customer_id,
        Subscription.external_id == external_subscription_id,
    )
    charge_fees = (
        select(Fee.invoice_id, func.min(Fee.from_datetime).label("period_from"))
        .join(Invoice, Invoice.id == Fee.invoice_id)
        .where(
            Fee.organization_id == organization_id,
            Fee.fee_type == "charge",
            Fee.subscription_id.in_(segments),
            Invoice.organization_id == organization_id,
            Invoice.customer_id == customer_id,
            Invoice.status.not_in(("voided", "deleted")),
        )
        .group_by(Fee.invoice_id)
    )
    periods = charge_fees.subquery()
    total = int(await session.scalar(select(func.count()).select_from(periods)) or 0)
    if periods_count is not None:
        total = min(total, periods_count)
    limit = max(min(limit, total - offset), 0)
    if limit == 0:
        return PastUsagePage([], total)
    page = await session.execute(
        select(periods.c.invoice_id)
        .order_by(periods.c.period_from.desc(), periods.c.invoice_id)
        .offset(offset)
        .limit(limit)
    )
    invoice_ids = [row[0] for row in page]
    invoices = {
        i.id: i for i in await session.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids)))
    }
    fee_query = (
        select(Fee)
        .where(
            Fee.organization_id == organization_id,
            Fee.invoice_id.in_(invoice_ids),
            Fee.fee_type == "charge",
            Fee.subscription_id.in_(segments),
        )
        .order_by(Fee.position, Fee.id)
    )
    if metric_id is not None:
        fee_query = fee_query.join(Charge, Charge.id == Fee.charge_id).where(
            Charge.billable_metric_id == metric_id
        )
    fees_by_invoice: dict[uuid.UUID, list[Fee]] = defaultdict(list)
    all_fees = list(await session.scalars(fee_query))
    for fee in all_fees:
        assert fee.invoice_id is not None
        fees_by_invoice[fee.invoice_id].append(fee)
    charge_ids = {f.charge_id for f in all_fees if f.charge_id is not None}
    charges = {
        c.id: c
        for c in await session.scalars(
            select(Charge).where(Charge.id.in_(charge_ids)).options(selectinload(Charge.filters))
        )
    }
    # The period's window: from its charge fees, all of them (whatever the metric filter).
    windows = {
        row.invoice_id: (row.start, row.end)
        for row in await session.execute(
            select(
                Fee.invoice_id,
                func.min(Fee.from_datetime).label("start"),
                func.max(Fee.to_datetime).label("end"),
            )
            .where(
                Fee.organization_id == organization_id,
                Fee.invoice_id.in_(invoice_ids),
                Fee.fee_type == "charge",
                Fee.subscription_id.in_(segments),
            )
            .group_by(Fee.invoice_id)
        )
    }
    return PastUsagePage(
        [
            past_usage_object(
                invoices[invoice_id], windows[invoice_id], fees_by_invoice[invoice_id], charges
            )
            for invoice_id in invoice_ids
        ],
        total,
    )
