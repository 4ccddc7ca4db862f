"""Progressive billing in the ledger: what a period's progressive invoices billed, the
subscription's lifetime usage, and the amounts later invoices of the period deduct.

A progressive billing invoice bills the usage of the period so far (one fee per charge,
as the period-end invoice would) and deducts what the period's previous progressive
invoice billed; since each one's fees are the usage so far, the latest finalized one is
all that was billed before. The period-end invoice deducts it the same way (Lago's
`progressive_billing_credit_amount_cents`), fee by fee, before coupons and taxes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.progressive import Threshold
from bxb.lago_objects.customers import customer_object
from bxb.lago_objects.plans import plan_object
from bxb.lago_objects.subscriptions import subscription_object
from bxb.lago_objects.taxes import applied_taxes
from bxb.lago_objects.usage_thresholds import usage_threshold_object
from bxb.models import (
    AppliedTax,
    AppliedUsageThreshold,
    Customer,
    Fee,
    Invoice,
    LifetimeUsage,
    Organization,
    Plan,
    Subscription,
    Tax,
    UsageThreshold,
)
from bxb.webhooks import outbox
from bxb.workflows.billing_requests import BillingRequest, UsageWindow
from bxb.workflows.state import PlanSnapshot

PROGRESSIVE_BILLING = "progressive_billing"
KIND_PREFIX = "progressive:"


def thresholds_of(plan: PlanSnapshot) -> list[Threshold]:
    return [
        Threshold(str(t.id), t.amount_cents, t.recurring, t.threshold_display_name)
        for t in plan.usage_thresholds
    ]


def period_usage_request(
    *,
    organization_id: uuid.UUID,
    customer_id: uuid.UUID,
    external_customer_id: str,
    external_id: str,
    timezone: str,
    currency: str,
    segment_id: uuid.UUID,
    plan: PlanSnapshot,
    usage_from: datetime,
    period_end: datetime,
    at: datetime,
) -> BillingRequest:
    """The period's usage so far, as the period-end invoice will bill it (its kind is the
    caller's to set)."""
    return BillingRequest(
        kind="progressive",
        at=at,
        organization_id=organization_id,
        customer_id=customer_id,
        external_customer_id=external_customer_id,
        external_id=external_id,
        timezone=timezone,
        currency=currency,
        invoice_segment_id=segment_id,
        invoice_period_start=usage_from,
        invoice_period_end=period_end,
        usage=[
            UsageWindow(
                segment_id=segment_id,
                plan=plan,
                from_datetime=usage_from,
                to_datetime=period_end,
            )
        ],
    )


def usage_cents(usage: Sequence[Sequence[Any]]) -> int:
    """The charge fees of usage lines (ledger.invoicing's UsageLines)."""
    return sum(line.fee.amount_cents for lines in usage for line in lines)


def is_progressive(kind: str) -> bool:
    """A progressive billing invoice's kind (or that of the usage it prices)."""
    return kind == "progressive" or kind.startswith(KIND_PREFIX)


def fee_key(fee: Fee) -> str:
    """Which fee of another invoice of the period bills the same thing (a charge's
    minimum true-up is no usage: it is never deducted)."""
    if fee.true_up_parent_fee_id is not None:
        return f"true-up:{fee.charge_id}"
    return f"{fee.charge_id}:{fee.charge_filter_id or ''}"


def progressive_kind(level_cents: int) -> str:
    """The invoice kind of the crossing at a lifetime level (its business key)."""
    return f"{KIND_PREFIX}{level_cents}"


async def latest_progressive_invoice(
    session: AsyncSession,
    segment_id: uuid.UUID,
    usage_from: datetime,
    *,
    excluding: uuid.UUID | None = None,
) -> Invoice | None:
    """The period's last finalized progressive invoice (voided ones billed nothing)."""
    query = (
        select(Invoice)
        .where(
            Invoice.subscription_id == segment_id,
            Invoice.invoice_type == PROGRESSIVE_BILLING,
            Invoice.period_start == usage_from,
            Invoice.status == "finalized",
        )
        .order_by(Invoice.finalized_at.desc(), Invoice.created_at.desc())
        .limit(1)
    )
    if excluding is not None:
        query = query.where(Invoice.id != excluding)
    invoice: Invoice | None = await session.scalar(query)
    return invoice


def charge_fees_cents(invoice: Invoice | None) -> int:
    if invoice is None:
        return 0
    return sum(fee.amount_cents for fee in invoice.fees if fee.fee_type == "charge")


async def already_billed(
    session: AsyncSession, request: BillingRequest, invoice_id: uuid.UUID | None
) -> list[dict[str, int]]:
    """For each usage window, what its period's progressive invoices billed, per fee."""
    found: list[dict[str, int]] = []
    for window in request.usage:
        found.append(await _window_billed(session, window, invoice_id))
    return found


async def _window_billed(
    session: AsyncSession, window: UsageWindow, invoice_id: uuid.UUID | None
) -> dict[str, int]:
    if not window.plan.usage_thresholds:
        return {}
    latest = await latest_progressive_invoice(
        session, window.segment_id, window.from_datetime, excluding=invoice_id
    )
    billed: dict[str, int] = {}
    for fee in latest.fees if latest is not None else ():
        if fee.fee_type == "charge" and fee.true_up_parent_fee_id is None:
            billed[fee_key(fee)] = billed.get(fee_key(fee), 0) + fee.amount_cents
    return billed


async def historical_usage_cents(
    session: AsyncSession, organization_id: uuid.UUID, external_id: str
) -> int:
    amount = await session.scalar(
        select(LifetimeUsage.historical_usage_amount_cents).where(
            LifetimeUsage.organization_id == organization_id,
            LifetimeUsage.external_subscription_id == external_id,
        )
    )
    return int(amount or 0)


async def invoiced_usage_cents(
    session: AsyncSession,
    organization_id: uuid.UUID,
    external_id: str,
    *,
    run_of: uuid.UUID | None = None,
) -> int:
    """Usage billed by the subscription's invoices (every plan it had; Lago's
    `invoiced_usage_amount_cents`: charge fees of its draft and finalized period invoices;
    a progressive invoice's fees are billed again, less the deduction, by its period's).

    With `run_of` (a segment's id), only the segments of that run count: a subscription
    re-created under the same external id starts again from zero.
    """
    query = (
        select(func.coalesce(func.sum(Fee.amount_cents), 0))
        .join(Invoice, Invoice.id == Fee.invoice_id)
        .join(Subscription, Subscription.id == Fee.subscription_id)
        .where(
            Subscription.organization_id == organization_id,
            Subscription.external_id == external_id,
            Fee.fee_type == "charge",
            Invoice.invoice_type == "subscription",
            Invoice.status.in_(("draft", "finalized")),
        )
    )
    if run_of is not None:
        started = select(Subscription.subscription_at).where(Subscription.id == run_of)
        query = query.where(Subscription.subscription_at == started.scalar_subquery())
    return int(await session.scalar(query) or 0)


async def reached_levels(
    session: AsyncSession, organization_id: uuid.UUID, segment_ids: Sequence[uuid.UUID]
) -> dict[int, datetime]:
    """The lifetime levels billed by progressive invoices, and when."""
    rows = await session.execute(
        select(
            AppliedUsageThreshold.passed_threshold_amount_cents,
            func.min(AppliedUsageThreshold.created_at),
        )
        .join(Invoice, Invoice.id == AppliedUsageThreshold.invoice_id)
        .where(
            AppliedUsageThreshold.organization_id == organization_id,
            Invoice.subscription_id.in_(list(segment_ids)),
            Invoice.status == "finalized",
        )
        .group_by(AppliedUsageThreshold.passed_threshold_amount_cents)
    )
    return {int(level): at for level, at in rows}


THRESHOLD_REACHED = "subscription.usage_threshold_reached"


async def threshold_reached_webhooks(
    session: AsyncSession, invoice: Invoice, thresholds: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """Lago's subscription.usage_threshold_reached, one per threshold the invoice applied
    (keyed on the invoice and threshold: a retried activity queues nothing twice)."""
    org_id = invoice.organization_id
    endpoints = await outbox.listeners(session, org_id, THRESHOLD_REACHED)
    if not endpoints or invoice.subscription_id is None:
        return []
    row = await session.get(Subscription, invoice.subscription_id)
    assert row is not None
    plan = await session.get(Plan, row.plan_id)
    customer = await session.get(Customer, row.customer_id)
    organization = await session.get(Organization, org_id)
    assert plan is not None
    assert customer is not None
    assert organization is not None
    taxes: dict[uuid.UUID | str, Sequence[Tax]] = {}
    taxes.update((await applied_taxes(session, AppliedTax.plan_id, [plan.id])).items())
    charge_ids = [charge.id for charge in plan.charges]
    taxes.update((await applied_taxes(session, AppliedTax.charge_id, charge_ids)).items())
    customer_taxes = await applied_taxes(session, AppliedTax.customer_id, [customer.id])
    base = subscription_object(row) | {
        "plan": plan_object(plan, taxes),
        "customer": customer_object(customer, organization, customer_taxes.get(customer.id, [])),
    }
    ids: list[uuid.UUID] = []
    for threshold_id in thresholds:
        threshold = await session.get(UsageThreshold, threshold_id)
        assert threshold is not None
        payload = {"subscription": base | {"usage_threshold": usage_threshold_object(threshold)}}
        object_id = uuid.uuid5(invoice.id, f"usage_threshold_reached:{threshold_id}")
        ids += await outbox.emit(
            session, org_id, THRESHOLD_REACHED, object_id, payload, endpoint_ids=endpoints
        )
    return ids
