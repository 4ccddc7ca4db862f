"""Instant fees: the usage reaction of pay-in-advance charges (issue 10).

For each pay-in-advance charge of the subscription's plan, the events of the current
charges window that have no fee yet are priced one by one (`bxb.billing.instant_fees`)
and written, each in its own transaction (`bxb.ledger.instant_fees`), idempotent on the
event's transaction id. Invoices of invoiceable fees go back to the workflow, which
collects them like its own; so do those a previous attempt wrote but could not hand over
(still pending), so that no retry loses one. Before the period closes, paid fees of
charges with `regroup_paid_fees: invoice` are regrouped on an `advance_charges` invoice.

The period-end invoice never bills these charges (`bxb.ledger.invoicing`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.activities.subscriptions import dispatch_webhooks
from bxb.billing.instant_fees import instant_fees
from bxb.events.store import EventStore
from bxb.ledger.instant_fees import (
    ADVANCE_CHARGE,
    Subject,
    billed_transactions,
    regroup_paid_fees,
    write_instant_fee,
    write_standalone_fees,
)
from bxb.ledger.invoicing import Invoicing
from bxb.models import Invoice
from bxb.payments.collect import has_payment_provider
from bxb.usage_reactions.context import UsageContext
from bxb.workflows.billing_requests import BillingResult


async def react(
    sessions: async_sessionmaker[AsyncSession], events: EventStore, context: UsageContext
) -> list[BillingResult]:
    charges = [c for c in context.plan.charges if c.pay_in_advance]
    if not charges:
        return []
    subject = Subject(
        organization_id=context.organization_id,
        customer_id=context.customer_id,
        external_customer_id=context.external_customer_id,
        external_id=context.external_id,
        subscription_id=context.subscription_id,
        timezone=context.timezone,
        currency=context.currency,
        plan=context.plan,
        window_start=context.usage_from,
        window_end=context.period_end,
    )
    invoicing = Invoicing(events)
    for charge in charges:
        stored = await events.fetch(
            context.organization_id,
            context.external_id,
            charge.billable_metric.code,
            subject.window_start,
            subject.window_end,
        )
        if not stored:
            continue
        done = await billed_transactions(sessions, subject, charge.id)
        billed = [e for e in stored if e.transaction_id in done]
        new = [e for e in stored if e.transaction_id not in done]
        if not new:
            continue
        computed = instant_fees(
            charge.usage_charge(),
            billed,
            new,
            subject.window_start,
            subject.window_end,
            context.currency,
        )
        if not charge.invoiceable:
            await dispatch_webhooks(
                await write_standalone_fees(sessions, subject, charge, computed)
            )
            continue
        for fee in computed:
            # The invoice is dated when the event happened (never after "now").
            written = await write_instant_fee(
                sessions, invoicing, subject, charge, fee, min(fee.timestamp, context.now)
            )
            await dispatch_webhooks(written.webhooks)
    if context.now >= context.period_end:
        regrouped = await regroup_paid_fees(sessions, subject, context.period_end)
        await dispatch_webhooks(regrouped.webhooks)
    if not any(c.invoiceable for c in charges):
        return []
    return await _to_collect(sessions, subject)


async def _to_collect(
    sessions: async_sessionmaker[AsyncSession], subject: Subject
) -> list[BillingResult]:
    """The window's instant-fee invoices still to be paid: the workflow collects each once
    (it ignores those it collects already)."""
    async with sessions() as session:
        invoices = list(
            await session.scalars(
                select(Invoice)
                .where(
                    Invoice.subscription_id == subject.subscription_id,
                    Invoice.kind == ADVANCE_CHARGE,
                    Invoice.status == "finalized",
                    Invoice.payment_status == "pending",
                    Invoice.payment_overdue.is_(False),
                    Invoice.period_start >= subject.window_start,
                )
                .order_by(Invoice.sequential_id)
            )
        )
        if not invoices:
            return []
        collectable = await has_payment_provider(session, subject.customer_id)
    return [
        BillingResult(
            invoice_id=invoice.id,
            total_amount_cents=invoice.total_amount_cents,
            invoice_status=invoice.status,
            payment_status=invoice.payment_status,
            collectable=collectable,
        )
        for invoice in invoices
    ]
