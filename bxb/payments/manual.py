"""Manual payments: money received outside any provider (bank transfer, cheque...).

Partial payments accumulate on the invoice; the one that completes it marks the invoice
paid. A manual payment is recorded with the invoice locked, so it serializes with a
provider attempt in flight and can never make the invoice owe less than nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bxb.ledger.amounts import amount_due
from bxb.models import Invoice, Payment
from bxb.payments.settle import settle_success


class ManualPaymentError(Exception):
    """The payment cannot be recorded; `status` and `code` say why in Lago's words."""

    def __init__(self, status: int, code: str, field: str | None = None) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.field = field


async def record_manual_payment(
    session: AsyncSession,
    invoice: Invoice,
    amount_cents: int,
    reference: str,
    paid_at: datetime,
) -> tuple[Payment, list[uuid.UUID]]:
    """Record a payment against `invoice` (locked by the caller); returns the row and
    the webhooks it queued."""
    if invoice.status != "finalized":
        raise ManualPaymentError(403, "invalid_invoice_status")
    if amount_cents <= 0 or amount_cents > amount_due(invoice):
        raise ManualPaymentError(422, "invalid_amount", field="amount_cents")
    payment = Payment(
        organization_id=invoice.organization_id,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        provider="manual",
        attempt=None,
        amount_cents=amount_cents,
        currency=invoice.currency,
        status="pending",
        reference=reference,
        paid_at=paid_at,
    )
    session.add(payment)
    await session.flush()
    webhooks = await settle_success(session, invoice, payment, paid_at)
    return payment, webhooks
