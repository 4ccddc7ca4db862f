"""One payment attempt for an invoice.

The contract the invoice-collection activity relies on:

- `attempt_payment` is idempotent per (invoice, attempt): running it again after a crash
  finds the payment row of that attempt and, at the provider, reuses the idempotency key
  `f"{invoice_id}-{attempt}"`, so one attempt never charges twice.
- It returns an outcome for business results (succeeded, pending at the provider,
  declined, nothing due, no provider configured) and raises for transient failures
  (network, rate limits, provider 5xx) so that Temporal's retry policy retries them.

How "never twice" holds even where the provider ignores idempotency keys (localstripe
does): the attempt's row is committed *before* the provider is called. A run that finds
that row still pending is a retry after a crash, so it first asks the provider for a
charge carrying the attempt's metadata and records that one instead of charging again.
The invoice row is locked while the provider is called, so a manual payment or webhook
for the same invoice waits for the attempt to be recorded.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.ledger.amounts import amount_due
from bxb.ledger.invoicing import lock_invoice
from bxb.models import Customer, Invoice, Payment
from bxb.models.webhook import Webhook
from bxb.payments.provider import ChargeResult, PaymentProvider
from bxb.payments.settle import (
    FINAL,
    apply_result,
    mark_paid,
    settle_failure,
    settled,
)
from bxb.payments.stripe_provider import StripeProvider

log = logging.getLogger(__name__)

PaymentStatus = Literal["succeeded", "pending", "failed", "nothing_due", "no_provider"]


class PaymentOutcome(BaseModel):
    status: PaymentStatus
    payment_id: uuid.UUID | None = None
    # The provider's decline code and message when status is "failed".
    code: str | None = None
    message: str | None = None
    # Webhooks this attempt queued (committed); the caller dispatches them.
    webhook_ids: list[uuid.UUID] = []


@dataclass(frozen=True)
class _Claim:
    """The attempt's payment row, committed before the provider is called."""

    payment_id: uuid.UUID
    provider_customer_id: str
    # The row existed already: an earlier run may have reached the provider.
    retry: bool


def provider_for(settings: Settings) -> PaymentProvider | None:
    if settings.stripe_api_key is None:
        return None
    return StripeProvider(settings.stripe_api_key, settings.stripe_api_base)


async def attempt_payment(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    invoice_id: uuid.UUID,
    attempt: int,
    at: datetime,
) -> PaymentOutcome:
    """Charge what the invoice still owes, once for this attempt number."""
    provider = provider_for(settings)
    claimed = await _claim(sessions, provider, invoice_id, attempt, at)
    if isinstance(claimed, PaymentOutcome):
        return claimed
    assert provider is not None  # _claim answers no_provider otherwise
    async with transaction(sessions) as session:
        return await _charge(session, provider, claimed, invoice_id, attempt, at)


async def _claim(
    sessions: async_sessionmaker[AsyncSession],
    provider: PaymentProvider | None,
    invoice_id: uuid.UUID,
    attempt: int,
    at: datetime,
) -> _Claim | PaymentOutcome:
    async with transaction(sessions) as session:
        invoice = await lock_invoice(session, invoice_id)
        if invoice is None:
            return PaymentOutcome(status="nothing_due")
        existing = await _attempt_row(session, invoice_id, attempt)
        if existing is not None and existing.status in FINAL:
            return await _outcome(session, existing)
        # An unfinished row is resolved below whatever became of the invoice since: its
        # charge may have happened.
        if existing is None and invoice.status != "finalized":
            return PaymentOutcome(status="nothing_due")
        if existing is None and settled(invoice):
            webhooks = await mark_paid(session, invoice, invoice.id, at)
            return PaymentOutcome(status="nothing_due", webhook_ids=webhooks)
        customer = await session.get(Customer, invoice.customer_id)
        assert customer is not None
        if customer.payment_provider != "stripe":
            return PaymentOutcome(status="no_provider")
        if provider is None:
            log.warning("invoice %s: customer uses stripe but STRIPE_API_KEY is unset", invoice_id)
            return PaymentOutcome(status="no_provider", message="stripe is not configured")
        if existing is None:
            existing = Payment(
                organization_id=invoice.organization_id,
                invoice_id=invoice.id,
                customer_id=customer.id,
                provider=provider.name,
                attempt=attempt,
                amount_cents=amount_due(invoice),
                currency=invoice.currency,
                status="pending",
                idempotency_key=f"{invoice.id}-{attempt}",
            )
            session.add(existing)
            await session.flush()
            if not customer.provider_customer_id:
                # Not at Stripe yet (its creation, sync_with_provider, may still be under
                # way): a failed attempt, so that dunning tries again later.
                await settle_failure(
                    session,
                    invoice,
                    existing,
                    "provider_customer_missing",
                    "the customer has no Stripe customer yet",
                )
                return await _outcome(session, existing)
            return _Claim(existing.id, customer.provider_customer_id, retry=False)
        assert customer.provider_customer_id is not None  # a claimed row had one
        return _Claim(existing.id, customer.provider_customer_id, retry=True)


async def _charge(
    session: AsyncSession,
    provider: PaymentProvider,
    claim: _Claim,
    invoice_id: uuid.UUID,
    attempt: int,
    at: datetime,
) -> PaymentOutcome:
    invoice = await lock_invoice(session, invoice_id)
    assert invoice is not None
    payment = await session.get(Payment, claim.payment_id, with_for_update=True)
    if payment is None or payment.status in FINAL:  # another run finished this attempt
        return await _outcome(session, payment) if payment else PaymentOutcome(status="pending")
    metadata = {"lago_invoice_id": str(invoice.id), "attempt": str(attempt)}
    result: ChargeResult | None = None
    if payment.provider_payment_id:
        result = await provider.retrieve(payment.provider_payment_id)
    elif claim.retry:
        result = await provider.find_charge(
            claim.provider_customer_id, metadata, since=payment.created_at
        )
    if result is None:
        webhooks: list[uuid.UUID] = []
        waiting = await _earlier_attempt_in_flight(session, provider, invoice, payment, at)
        if waiting is not None or invoice.status != "finalized" or settled(invoice):
            # Nothing was charged for this attempt: forget it.
            await session.execute(delete(Payment).where(Payment.id == payment.id))
            if waiting is not None:
                return PaymentOutcome(status="pending", payment_id=waiting)
            if invoice.status == "finalized":
                webhooks = await mark_paid(session, invoice, invoice.id, at)
            return PaymentOutcome(status="nothing_due", webhook_ids=webhooks)
        payment.amount_cents = amount_due(invoice)
        result = await provider.charge(
            claim.provider_customer_id,
            payment.amount_cents,
            payment.currency,
            payment.idempotency_key or f"{invoice.id}-{attempt}",
            metadata,
        )
    await apply_result(session, invoice, payment, result, at)
    await session.flush()
    return await _outcome(session, payment)


async def _earlier_attempt_in_flight(
    session: AsyncSession,
    provider: PaymentProvider,
    invoice: Invoice,
    payment: Payment,
    at: datetime,
) -> uuid.UUID | None:
    """Refresh other attempts still processing at the provider; the id of one that still
    is (charging again meanwhile could take the money twice)."""
    others = await session.scalars(
        select(Payment).where(
            Payment.invoice_id == invoice.id,
            Payment.id != payment.id,
            Payment.status == "processing",
            Payment.provider_payment_id.is_not(None),
        )
    )
    for other in others.all():
        assert other.provider_payment_id is not None
        await apply_result(
            session, invoice, other, await provider.retrieve(other.provider_payment_id), at
        )
        if other.status == "processing":
            return other.id
    return None


async def _attempt_row(
    session: AsyncSession, invoice_id: uuid.UUID, attempt: int
) -> Payment | None:
    row: Payment | None = await session.scalar(
        select(Payment).where(Payment.invoice_id == invoice_id, Payment.attempt == attempt)
    )
    return row


async def _outcome(session: AsyncSession, payment: Payment) -> PaymentOutcome:
    """The outcome a payment row stands for, with its webhooks still to deliver."""
    webhooks = list(
        await session.scalars(
            select(Webhook.id).where(Webhook.object_id == payment.id, Webhook.status == "pending")
        )
    )
    status: PaymentStatus = "pending"
    if payment.status == "succeeded":
        status = "succeeded"
    elif payment.status == "failed":
        status = "failed"
    return PaymentOutcome(
        status=status,
        payment_id=payment.id,
        code=payment.failure_code,
        message=payment.failure_message,
        webhook_ids=webhooks,
    )


async def has_payment_provider(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    """Whether the customer pays through a provider; without one, invoices wait for a
    manual payment and the workflow has nothing to collect."""
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    return customer.payment_provider == "stripe"
