"""Payment receipts: one per succeeded payment, numbered per organization.

Lago issues a receipt for each succeeded payment when the organization enables them;
bxb always does (see docs/decisions.md), in the transaction where the payment succeeds,
so a payment is never succeeded without its receipt; `payment_receipt.created` is
queued with it. Numbers are gapless per
organization (`<document_number_prefix>-RCPT-000001`): the next one is taken under a
transaction-scoped advisory lock on the organization.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.lago_objects.payment_requests import payment_receipt_object
from bxb.models import Organization, Payment, PaymentReceipt
from bxb.webhooks import outbox

CREATED = "payment_receipt.created"


async def issue_receipt(session: AsyncSession, payment: Payment) -> list[uuid.UUID]:
    """Issue the payment's receipt unless it exists (idempotent); the webhooks queued
    (`payment_receipt.created`, as Lago sends)."""
    existing = await session.scalar(
        select(PaymentReceipt.id).where(PaymentReceipt.payment_id == payment.id)
    )
    if existing is not None:
        return []
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
        {"key": f"payment_receipts:{payment.organization_id}"},
    )
    last = await session.scalar(
        select(func.max(PaymentReceipt.sequential_id)).where(
            PaymentReceipt.organization_id == payment.organization_id
        )
    )
    organization = await session.get(Organization, payment.organization_id)
    assert organization is not None
    sequential_id = (last or 0) + 1
    receipt = PaymentReceipt(
        organization_id=payment.organization_id,
        payment_id=payment.id,
        sequential_id=sequential_id,
        number=f"{organization.document_number_prefix}-RCPT-{sequential_id:06d}",
    )
    session.add(receipt)
    await session.flush()
    if not await outbox.listeners(session, receipt.organization_id, CREATED):
        return []
    payload = {"payment_receipt": await payment_receipt_object(session, receipt)}
    # Keyed by the payment (one receipt each): whoever delivers the payment's webhooks
    # (e.g. a collection attempt's outcome) delivers this one too.
    return await outbox.emit(session, receipt.organization_id, CREATED, payment.id, payload)
