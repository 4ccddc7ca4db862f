"""Webhooks about invoices, subscriptions and fees, queued in the caller's transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from bxb.lago_objects.fees import fee_objects
from bxb.lago_objects.invoices import invoice_object
from bxb.lago_objects.subscriptions import subscription_object
from bxb.models import Fee, Invoice, Subscription
from bxb.webhooks import outbox


async def invoice_event(
    session: AsyncSession, invoice: Invoice, webhook_type: str
) -> list[uuid.UUID]:
    endpoints = await outbox.listeners(session, invoice.organization_id, webhook_type)
    if not endpoints:
        return []  # building the invoice object costs queries; nobody would receive it
    payload = {"invoice": await invoice_object(session, invoice)}
    return await outbox.emit(
        session, invoice.organization_id, webhook_type, invoice.id, payload, endpoint_ids=endpoints
    )


async def subscription_event(
    session: AsyncSession, row: Subscription, webhook_type: str
) -> list[uuid.UUID]:
    payload = {"subscription": subscription_object(row)}
    return await outbox.emit(session, row.organization_id, webhook_type, row.id, payload)


async def fee_event(session: AsyncSession, fee: Fee) -> list[uuid.UUID]:
    """fee.created (an instant fee), in the transaction that wrote it."""
    endpoints = await outbox.listeners(session, fee.organization_id, "fee.created")
    if not endpoints:
        return []
    await session.flush()
    await session.refresh(fee)  # server-set columns (created_at) for the payload
    (payload,) = await fee_objects(session, [fee])
    return await outbox.emit(
        session,
        fee.organization_id,
        "fee.created",
        fee.id,
        {"fee": payload},
        endpoint_ids=endpoints,
    )
