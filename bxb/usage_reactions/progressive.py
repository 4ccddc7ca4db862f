"""Progressive billing: a `progressive_billing` invoice when usage crosses a threshold.

Runs when the subscription's workflow learns of new usage (and before each period
close). It prices the usage of the current period so far exactly as the period-end
invoice would, adds the lifetime usage billed before (historical, then invoiced), and
checks the plan's thresholds (pinned in the subscription's plan snapshot) against what is
already billed (see billing.progressive). When one is crossed, it issues one finalized
invoice for the period's usage so far, deducting what the period's previous progressive
invoice billed, and returns it for the workflow to collect.

Idempotent: the invoice's kind names the lifetime level crossed, unique per subscription
and period (the invoices' unique index), and the subscription's mirror row is locked
while deciding, so two runs never bill the same usage twice; a run that finds the
crossing billed does nothing.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from bxb.billing.progressive import Crossing, crossed
from bxb.core.db import transaction
from bxb.events.store import EventStore
from bxb.ledger import notifications
from bxb.ledger.finalizing import finalize
from bxb.ledger.invoicing import Invoicing, UsageLines, new_invoice
from bxb.ledger.progressive import (
    PROGRESSIVE_BILLING,
    charge_fees_cents,
    historical_usage_cents,
    invoiced_usage_cents,
    latest_progressive_invoice,
    period_usage_request,
    progressive_kind,
    threshold_reached_webhooks,
    thresholds_of,
    usage_cents,
)
from bxb.models import AppliedUsageThreshold, Invoice, Subscription, UsageThreshold
from bxb.payments.collect import has_payment_provider
from bxb.usage_reactions.context import UsageContext
from bxb.webhooks import outbox
from bxb.workflows.billing_requests import BillingRequest, BillingResult


def usage_request(context: UsageContext) -> BillingRequest:
    """The period's usage so far, as the period-end invoice will bill it."""
    return period_usage_request(
        organization_id=context.organization_id,
        customer_id=context.customer_id,
        external_customer_id=context.external_customer_id,
        external_id=context.external_id,
        timezone=context.timezone,
        currency=context.currency,
        segment_id=context.subscription_id,
        plan=context.plan,
        usage_from=context.usage_from,
        period_end=context.period_end,
        at=context.now,
    )


async def react(
    sessions: async_sessionmaker[AsyncSession], events: EventStore, context: UsageContext
) -> list[BillingResult]:
    thresholds = thresholds_of(context.plan)
    if not thresholds or context.now >= context.period_end:
        return []
    invoicing = Invoicing(events)
    request = usage_request(context)
    # Usage is read before the transaction: event stores may be another database.
    usage = await invoicing.usage_lines(request)
    current = usage_cents(usage)
    webhooks: list[uuid.UUID] = []
    async with transaction(sessions) as session:
        mirror = await session.scalar(
            select(Subscription).where(Subscription.id == context.subscription_id).with_for_update()
        )
        if mirror is None or mirror.status != "active":
            return []
        previous = await latest_progressive_invoice(
            session, context.subscription_id, context.usage_from
        )
        progressive = charge_fees_cents(previous)
        before = await historical_usage_cents(
            session, context.organization_id, context.external_id
        ) + await invoiced_usage_cents(session, context.organization_id, context.external_id)
        crossings = crossed(thresholds, before + progressive, before + current)
        if not crossings:
            return []
        level = max(c.level_cents for c in crossings)
        request = request.model_copy(update={"kind": progressive_kind(level)})
        if await _issued(session, request):
            return []
        invoice = await _issue(session, invoicing, request, usage, crossings, before + current)
        webhooks += await notifications.invoice_event(session, invoice, "invoice.created")
        reached = [a.usage_threshold_id for a in await _applied(session, invoice.id)]
        webhooks += await threshold_reached_webhooks(session, invoice, reached)
        result = BillingResult(
            invoice_id=invoice.id,
            total_amount_cents=invoice.total_amount_cents,
            invoice_status=invoice.status,
            payment_status=invoice.payment_status,
            collectable=await has_payment_provider(session, invoice.customer_id),
        )
    if webhooks and activity.in_activity():  # delivery starts once committed
        await outbox.dispatch(activity.client(), webhooks)
    return [result]


async def _applied(session: AsyncSession, invoice_id: uuid.UUID) -> list[AppliedUsageThreshold]:
    rows = await session.scalars(
        select(AppliedUsageThreshold)
        .where(AppliedUsageThreshold.invoice_id == invoice_id)
        .order_by(AppliedUsageThreshold.passed_threshold_amount_cents)
    )
    return list(rows)


async def _issued(session: AsyncSession, request: BillingRequest) -> bool:
    found = await session.scalar(
        select(Invoice.id).where(
            Invoice.subscription_id == request.invoice_segment_id,
            Invoice.period_start == request.invoice_period_start,
            Invoice.period_end == request.invoice_period_end,
            Invoice.kind == request.kind,
        )
    )
    return found is not None


async def _issue(
    session: AsyncSession,
    invoicing: Invoicing,
    request: BillingRequest,
    usage: UsageLines,
    crossings: list[Crossing],
    lifetime_cents: int,
) -> Invoice:
    invoice = new_invoice(request)
    invoice.invoice_type = PROGRESSIVE_BILLING
    await invoicing.compose(session, request, usage, invoice, final=True)
    # It closes no usage window (the closing invoice bills the window again, in full):
    # events that arrive later are no late events for it.
    invoice.usage_windows = None
    session.add(invoice)
    await session.flush()
    # Snapshots pin threshold rows' ids; one that is not a row is recorded nowhere.
    ids = [uuid.UUID(c.threshold.id) for c in crossings]
    known = set(await session.scalars(select(UsageThreshold.id).where(UsageThreshold.id.in_(ids))))
    for crossing in crossings:
        if uuid.UUID(crossing.threshold.id) not in known:
            continue
        session.add(
            AppliedUsageThreshold(
                organization_id=request.organization_id,
                invoice_id=invoice.id,
                usage_threshold_id=uuid.UUID(crossing.threshold.id),
                lifetime_usage_amount_cents=lifetime_cents,
                passed_threshold_amount_cents=crossing.level_cents,
            )
        )
    await finalize(session, invoice, request.at)
    await session.flush()
    return invoice
