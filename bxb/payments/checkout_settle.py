"""A payment made on a Stripe page of `POST /invoices/{id}/payment_url`, recorded once.

Its PaymentIntent is not one of bxb's attempts: Stripe's `payment_intent.succeeded` event
names the invoice in the metadata bxb gave the page (`lago_invoice_id`, `payment_type:
one-time`, as Lago tags them). The invoice is locked, then the PaymentIntent is looked up
among its payments, so a replayed or concurrent event records nothing twice. The amount
counted is what Stripe received, at most what the invoice still owes; a payment that
finds nothing due (paid meanwhile by other means) is logged for a refund by hand.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.ledger.amounts import amount_due
from bxb.ledger.invoicing import lock_invoice
from bxb.models import Payment
from bxb.payments.settle import settle_success

log = logging.getLogger(__name__)


def _invoice_id(intent: Mapping[str, Any]) -> uuid.UUID | None:
    metadata = intent.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("payment_type") != "one-time":
        return None
    try:
        return uuid.UUID(str(metadata.get("lago_invoice_id")))
    except ValueError:
        return None


async def record_checkout_payment(
    session: AsyncSession, organization_id: uuid.UUID, intent: Mapping[str, Any], at: datetime
) -> tuple[uuid.UUID, list[uuid.UUID]] | None:
    """Record a succeeded checkout PaymentIntent on its invoice: (invoice id, webhooks
    queued), or None when it is not one (or already recorded)."""
    invoice_id = _invoice_id(intent)
    if intent.get("status") != "succeeded" or invoice_id is None:
        return None
    invoice = await lock_invoice(session, invoice_id)
    if invoice is None or invoice.organization_id != organization_id:
        return None
    known = await session.scalar(
        select(Payment.id).where(
            Payment.organization_id == organization_id,
            Payment.invoice_id == invoice.id,
            Payment.provider_payment_id == intent["id"],
        )
    )
    if known is not None:
        return None
    received = intent.get("amount_received") or intent.get("amount") or 0
    amount = min(int(received), amount_due(invoice))
    if invoice.status != "finalized" or amount <= 0:
        log.warning(
            "checkout payment %s of invoice %s found nothing due: refund it by hand",
            intent["id"],
            invoice.id,
        )
        return None
    payment = Payment(
        organization_id=organization_id,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        provider="stripe",
        attempt=None,
        amount_cents=amount,
        currency=invoice.currency,
        status="pending",
        provider_payment_id=str(intent["id"]),
        reference="checkout",
    )
    session.add(payment)
    await session.flush()
    return invoice.id, await settle_success(session, invoice, payment, at)
