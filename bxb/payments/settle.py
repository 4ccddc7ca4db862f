"""Marking an invoice paid or failed from a payment: shared by provider attempts, manual
payments and the Stripe webhook, so all three count money and report it the same way.

Every function runs in the caller's transaction with the invoice row locked, and is
idempotent: settling a payment that is already final changes nothing and emits nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bxb.core.metrics import PAYMENT_ATTEMPTS, count_on_commit
from bxb.lago_objects.invoices import invoice_object
from bxb.ledger import alert_triggers, wallets
from bxb.ledger.amounts import amount_due
from bxb.models import Invoice, Payment
from bxb.payments.provider import ChargeResult
from bxb.payments.receipts import issue_receipt
from bxb.webhooks import outbox

PAYMENT_STATUS_UPDATED = "invoice.payment_status_updated"
FINAL = frozenset({"succeeded", "failed"})


def settled(invoice: Invoice) -> bool:
    """Nothing to collect: paid in full, or marked paid by other means."""
    return invoice.payment_status == "succeeded" or amount_due(invoice) == 0


async def payment_status_event(
    session: AsyncSession, invoice: Invoice, cause_id: uuid.UUID
) -> list[uuid.UUID]:
    """Queue invoice.payment_status_updated.

    `cause_id` (the payment that changed the status) is the outbox's idempotency key: an
    invoice can change payment status several times (failed, then paid), each once.
    """
    payload = {
        "webhook_type": PAYMENT_STATUS_UPDATED,
        "object_type": "invoice",
        "invoice": await invoice_object(session, invoice),
    }
    return await outbox.emit(
        session, invoice.organization_id, PAYMENT_STATUS_UPDATED, cause_id, payload
    )


async def mark_paid(
    session: AsyncSession, invoice: Invoice, cause_id: uuid.UUID, at: datetime
) -> list[uuid.UUID]:
    """Nothing is due any more: the invoice is paid (once)."""
    if invoice.payment_status == "succeeded":
        return []
    invoice.payment_status = "succeeded"
    invoice.payment_overdue = False
    await wallets.on_invoice_paid(session, invoice, at)
    alerts: list[uuid.UUID] = []  # a paid top-up raises the balance: its alerts rearm
    if invoice.invoice_type == "credit":
        alerts = await alert_triggers.check_customer_wallet(session, invoice.customer_id, at)
    return alerts + await payment_status_event(session, invoice, cause_id)


async def settle_success(
    session: AsyncSession, invoice: Invoice, payment: Payment, at: datetime
) -> list[uuid.UUID]:
    """The payment's money arrived: count it, and mark the invoice paid when it is all."""
    if payment.status == "succeeded":
        return []
    payment.status = "succeeded"
    if payment.attempt is not None:  # a provider attempt (manual payments are not)
        count_on_commit(session, PAYMENT_ATTEMPTS, "succeeded")
    payment.paid_at = payment.paid_at or at
    payment.failure_code = payment.failure_message = None
    await session.flush()
    receipts = await issue_receipt(session, payment)
    invoice.total_paid_amount_cents += payment.amount_cents
    if amount_due(invoice) == 0:
        return await mark_paid(session, invoice, payment.id, at) + receipts
    return receipts


async def settle_failure(
    session: AsyncSession,
    invoice: Invoice,
    payment: Payment,
    code: str | None,
    message: str | None,
) -> list[uuid.UUID]:
    """The provider declined: the invoice's payment failed, unless paid by other means."""
    if payment.status in FINAL:
        return []
    payment.status = "failed"
    if payment.attempt is not None:
        count_on_commit(session, PAYMENT_ATTEMPTS, "failed")
    payment.failure_code = code
    payment.failure_message = message
    if invoice.payment_status in ("succeeded", "failed"):
        return []  # paid meanwhile, or already reported as failed by an earlier attempt
    invoice.payment_status = "failed"
    return await payment_status_event(session, invoice, payment.id)


async def apply_result(
    session: AsyncSession,
    invoice: Invoice,
    payment: Payment,
    result: ChargeResult,
    at: datetime,
) -> list[uuid.UUID]:
    """Record what the provider said about `payment`."""
    if result.provider_payment_id:
        payment.provider_payment_id = result.provider_payment_id
    if result.status == "succeeded":
        return await settle_success(session, invoice, payment, at)
    if result.status == "failed":
        return await settle_failure(
            session, invoice, payment, result.failure_code, result.failure_message
        )
    if payment.status not in FINAL:
        payment.status = "processing"  # the provider will tell us by webhook
    return []
