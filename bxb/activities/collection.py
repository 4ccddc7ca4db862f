"""Activities that turn a subscription's invoices into money: finalize, collect, give up.

The workflow decides when (grace period end, dunning schedule); these do the writing.
Each is idempotent: finalizing a finalized invoice changes nothing, a payment attempt is
unique per (invoice, attempt number) and reuses its provider idempotency key.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from bxb.activities import wallet_top_ups
from bxb.activities.guard import fails_fast
from bxb.activities.subscriptions import dispatch_webhooks
from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.events.store import EventStore
from bxb.ledger import notifications
from bxb.ledger.amounts import amount_due
from bxb.ledger.finalizing import finalize_draft
from bxb.ledger.invoicing import Invoicing, lock_invoice
from bxb.ledger.wallet_recurring import run_recurring_top_ups
from bxb.models import Invoice, Organization
from bxb.payments.collect import attempt_payment, has_payment_provider
from bxb.workflows.billing_requests import (
    PAYMENT_DECLINED,
    DunningPolicy,
    InvoiceStanding,
    InvoiceStep,
    PaymentResult,
)


class CollectionActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        events: EventStore,
        settings: Settings,
    ) -> None:
        self.sessions = sessions
        self.invoicing = Invoicing(events)
        self.settings = settings

    @activity.defn(name="finalize_invoice")
    @fails_fast
    async def finalize_invoice(self, step: InvoiceStep) -> InvoiceStanding:
        webhooks = await finalize_draft(self.sessions, self.invoicing, step.invoice_id, step.at)
        await dispatch_webhooks(webhooks or [])
        await self._recurring_top_ups(step.invoice_id)
        return await self._standing(step.invoice_id)

    async def _recurring_top_ups(self, invoice_id: uuid.UUID) -> None:
        """Threshold rules are checked right after an invoice consumed prepaid credits
        (once per crossing: a retried activity tops up nothing more)."""
        async with self.sessions() as session:
            invoice = await session.get(Invoice, invoice_id)
            if invoice is None or invoice.prepaid_credit_amount_cents <= 0:
                return
            customer_id = invoice.customer_id
        results = await run_recurring_top_ups(self.sessions, customer_id=customer_id)
        await wallet_top_ups.after_commit(results)

    @activity.defn(name="collect_payment")
    @fails_fast
    async def collect_payment(self, step: InvoiceStep) -> PaymentResult:
        policy = await self._policy(step.invoice_id)
        outcome = await attempt_payment(
            self.sessions, self.settings, step.invoice_id, step.attempt, step.at
        )
        await dispatch_webhooks(outcome.webhook_ids)
        if outcome.status == "failed":
            raise ApplicationError(
                f"payment declined: {outcome.code or ''} {outcome.message or ''}".strip(),
                policy.model_dump(mode="json"),
                type=PAYMENT_DECLINED,
                non_retryable=True,
            )
        return PaymentResult(status=outcome.status, policy=policy, message=outcome.message)

    @activity.defn(name="mark_payment_overdue")
    @fails_fast
    async def mark_payment_overdue(self, step: InvoiceStep) -> InvoiceStanding:
        """Dunning is over and the invoice is still unpaid: it is past due."""
        webhooks: list[uuid.UUID] = []
        async with transaction(self.sessions) as session:
            invoice = await lock_invoice(session, step.invoice_id)
            assert invoice is not None
            if invoice.payment_status != "succeeded" and invoice.status == "finalized":
                invoice.payment_overdue = True
                webhooks = await notifications.invoice_event(
                    session, invoice, "invoice.payment_overdue"
                )
        await dispatch_webhooks(webhooks)
        return await self._standing(step.invoice_id)

    def all(self) -> list[Any]:
        return [self.finalize_invoice, self.collect_payment, self.mark_payment_overdue]

    async def _standing(self, invoice_id: uuid.UUID) -> InvoiceStanding:
        async with self.sessions() as session:
            invoice = await session.get(Invoice, invoice_id)
            assert invoice is not None
            return InvoiceStanding(
                status=invoice.status,
                payment_status=invoice.payment_status,
                amount_due_cents=amount_due(invoice),
                collectable=await has_payment_provider(session, invoice.customer_id),
                number=invoice.number,
            )

    async def _policy(self, invoice_id: uuid.UUID) -> DunningPolicy:
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(Organization.dunning_retry_days, Organization.dunning_outcome)
                    .join(Invoice, Invoice.organization_id == Organization.id)
                    .where(Invoice.id == invoice_id)
                )
            ).one()
        return DunningPolicy(retry_days=list(row[0]), outcome=row[1])
