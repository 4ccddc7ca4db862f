"""A credit note's refund through the API, the worker and localstripe: the card payment of
a subscription invoice is partly given back, once, and the note's refund_status follows."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.core.settings import Settings
from bxb.models import Payment
from bxb.payments.refund_starts import resume_unstarted_refunds
from tests.integration.test_refunds import Shop, note_row, stripe_refunds
from tests.support.auth import Tenant
from tests.support.billing import Billing, invoices_of
from tests.support.stripe_cards import GOOD_CARD
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow


async def _refund_status(billing: Billing, note_id: str, until: str) -> str:
    """The note's refund_status once it is `until` (or whatever it is after 30 s)."""
    status = ""
    for _ in range(300):
        answer = await billing.ok("GET", f"/api/v1/credit_notes/{note_id}")
        status = answer["credit_note"]["refund_status"]
        if status == until:
            break
        await asyncio.sleep(0.1)
    return status


async def test_a_credit_note_refunds_the_card_payment_once(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, GOOD_CARD)
    [invoice] = await invoices_of(sessions)
    assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("succeeded", 1000)
    fees = (await billing.ok("GET", f"/api/v1/invoices/{invoice.id}"))["invoice"]["fees"]
    body: dict[str, Any] = {
        "invoice_id": str(invoice.id),
        "reason": "order_cancellation",
        "refund_amount_cents": 600,
        "credit_amount_cents": 400,
        "items": [{"fee_id": fees[0]["lago_id"], "amount_cents": 1000}],
    }
    created = await billing.ok("POST", "/api/v1/credit_notes", {"credit_note": body})
    note = created["credit_note"]
    assert (note["refund_status"], note["refund_amount_cents"]) == ("pending", 600)
    assert await _refund_status(billing, note["lago_id"], "succeeded") == "succeeded"
    refunded = (await billing.ok("GET", f"/api/v1/credit_notes/{note['lago_id']}"))["credit_note"]
    assert refunded["refunded_at"] is not None
    assert refunded["credit_status"] == "available"
    async with sessions() as session:
        [intent] = await session.scalars(
            select(Payment.provider_payment_id).where(Payment.invoice_id == invoice.id)
        )
    assert intent is not None
    [refund] = await stripe_refunds(localstripe_url, intent)
    assert (refund.amount, refund.status) == (600, "succeeded")
    assert refund.metadata["lago_credit_note_id"] == note["lago_id"]
    # The fee is fully credited: a second note is refused, nothing more goes back.
    again = await stack.post(
        "/api/v1/credit_notes",
        json={"credit_note": body | {"refund_amount_cents": 500, "credit_amount_cents": 0}},
        headers=billing.headers,
    )
    assert again.status_code == 422
    assert len(await stripe_refunds(localstripe_url, intent)) == 1


async def test_a_worker_start_resumes_refunds_the_api_could_not_start(
    stack: httpx.AsyncClient,
    temporal_env: WorkflowEnvironment,
    stripe_settings: Settings,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    localstripe_url: str,
) -> None:
    # A note committed while Temporal was unreachable: nothing refunds it yet.
    shop = await Shop(sessions, tenant_a).open(localstripe_url)
    _, intent = await shop.stripe_payment(800)
    note_id = await shop.note(refund=300)
    await shop.note(refund=0, credit=100)  # nothing to refund
    queue = stripe_settings.temporal_task_queue
    assert await resume_unstarted_refunds(sessions, temporal_env.client, queue) == 1
    for _ in range(300):
        if (await note_row(sessions, note_id)).refund_status == "succeeded":
            break
        await asyncio.sleep(0.1)
    assert (await note_row(sessions, note_id)).refund_status == "succeeded"
    assert [r.amount for r in await stripe_refunds(localstripe_url, intent)] == [300]
    assert await resume_unstarted_refunds(sessions, temporal_env.client, queue) == 0
