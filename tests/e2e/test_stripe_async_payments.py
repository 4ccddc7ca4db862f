"""Stripe's asynchronous answers reach the subscription's workflow through the webhook.

A card that needs authentication leaves the PaymentIntent waiting: the workflow neither
retries nor dunns, it waits. Stripe's signed event then settles it: a success ends the
collection; a failure starts the dunning campaign from that moment.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Invoice, Payment
from tests.support.auth import Tenant
from tests.support.billing import Billing
from tests.support.stripe_events import event, signature
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

# localstripe asks for 3-D Secure on this card: the PaymentIntent waits (requires_action).
AUTHENTICATION_CARD = "4000002500003155"


async def _state(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[Invoice, list[tuple[str, str | None]]]:
    async with sessions() as session:
        invoice = await session.scalar(select(Invoice).execution_options(populate_existing=True))
        assert invoice is not None
        rows = await session.scalars(
            select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.attempt)
        )
        return invoice, [(row.status, row.provider_payment_id) for row in rows]


async def _stripe_event(
    client: httpx.AsyncClient, organization_id: uuid.UUID, kind: str, intent_id: str
) -> None:
    intent = {"id": intent_id, "amount": 1000, "amount_received": 1000, "currency": "usd"}
    body = event(kind, intent | {"status": kind.removeprefix("payment_intent.")})
    response = await client.post(
        f"/api/v1/webhooks/stripe/{organization_id}",
        content=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": signature(body)},
    )
    assert response.status_code == 200, response.text


async def test_an_asynchronous_success_ends_the_collection(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, AUTHENTICATION_CARD)
    invoice, [(status, intent_id)] = await _state(sessions)
    assert (invoice.payment_status, status) == ("pending", "processing")
    assert intent_id is not None
    await billing.advance("2026-03-03T00:00:00Z")  # waiting on Stripe is not a failure
    assert len((await _state(sessions))[1]) == 1
    await _stripe_event(stack, tenant_a.organization_id, "payment_intent.succeeded", intent_id)
    invoice, payments = await _state(sessions)
    assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("succeeded", 1000)
    assert payments == [("succeeded", intent_id)]
    await billing.advance("2026-03-12T00:00:00Z")
    assert len((await _state(sessions))[1]) == 1


async def test_an_asynchronous_failure_starts_dunning(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, AUTHENTICATION_CARD)
    await billing.advance("2026-03-01T10:00:00Z")
    _, [(_, intent_id)] = await _state(sessions)
    assert intent_id is not None
    failed = "payment_intent.payment_failed"
    await _stripe_event(stack, tenant_a.organization_id, failed, intent_id)
    # The signal is handled at the clock's time; advancing to it waits until it is.
    await billing.advance("2026-03-01T10:00:00Z")
    invoice, payments = await _state(sessions)
    assert invoice.payment_status == "failed"
    assert [status for status, _ in payments] == ["failed"]
    await billing.advance("2026-03-02T09:59:00Z")
    assert len((await _state(sessions))[1]) == 1
    await billing.advance("2026-03-02T10:00:00Z")  # one day after the failure
    assert len((await _state(sessions))[1]) == 2
