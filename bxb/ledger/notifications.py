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
    session: AsyncSession,
    row: Subscription,
    webhook_type: str,
    object_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """object_id: what the webhook is unique on with its type (default: the row's id)."""
    payload = {"subscription": subscription_object(row)}
    return await outbox.emit(
        session, row.organization_id, webhook_type, object_id or row.id, payload
    )


async def fee_events(session: AsyncSession, fees: list[Fee]) -> list[uuid.UUID]:
    """fee.created for each of `fees` (instant fees), in the transaction that wrote them."""
    if not fees:
        return []
    organization_id = fees[0].organization_id
    endpoints = await outbox.listeners(session, organization_id, "fee.created")
    if not endpoints:
        return []  # the common case: one query, no payloads built
    await session.flush()
    ids: list[uuid.UUID] = []
    for fee in fees:
        await session.refresh(fee)  # server-set columns (created_at) for the payload
        (payload,) = await fee_objects(session, [fee])
        ids += await outbox.emit(
            session,
            organization_id,
            "fee.created",
            fee.id,
            {"fee": payload},
            endpoint_ids=endpoints,
        )
    return ids
