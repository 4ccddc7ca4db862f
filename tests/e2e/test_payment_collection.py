"""Collecting subscription invoices end to end: Stripe (localstripe), a test clock, dunning.

Everything goes through the HTTP API and the real worker on the Temporal dev server; the
card network is localstripe driven through the stripe SDK; a webhook receiver in the test
verifies each delivery's signature.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.auth import Tenant
from tests.support.billing import Billing, attempt_statuses, invoices_of
from tests.support.stripe_cards import (
    DECLINING_CARD,
    GOOD_CARD,
    add_card,
    charges_of,
)
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow


async def _until(condition: Any, seconds: float = 30.0) -> None:
    """Wait for something the worker does after an API call has answered (webhooks)."""
    for _ in range(int(seconds / 0.1)):
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_a_good_card_pays_and_a_signed_webhook_says_so(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, GOOD_CARD)
    [invoice] = await invoices_of(sessions)
    assert (invoice.status, invoice.payment_status) == ("finalized", "succeeded")
    assert (invoice.total_amount_cents, invoice.total_paid_amount_cents) == (1000, 1000)
    assert await attempt_statuses(sessions, invoice.id) == ["succeeded"]
    charges = await charges_of(localstripe_url, billing.stripe_customer)
    assert [(c.amount, c.status) for c in charges] == [(1000, "succeeded")]

    async def paid_webhook() -> bool:
        return any(
            d.payload["webhook_type"] == "invoice.payment_status_updated"
            for d in receiver.deliveries
        )

    await _until(paid_webhook)
    assert all(d.verified for d in receiver.deliveries)
    types = {d.payload["webhook_type"] for d in receiver.deliveries}
    assert {"subscription.started", "invoice.created"} <= types
    paid = next(
        d.payload
        for d in receiver.deliveries
        if d.payload["webhook_type"] == "invoice.payment_status_updated"
    )
    assert paid["invoice"]["lago_id"] == str(invoice.id)
    assert paid["invoice"]["payment_status"] == "succeeded"
    # The next period is charged once too.
    await billing.advance("2026-04-01T00:00:00Z")
    _, april = await invoices_of(sessions)
    assert (april.payment_status, april.total_amount_cents) == ("succeeded", 1000)
    charges = await charges_of(localstripe_url, billing.stripe_customer)
    assert sorted(c.amount for c in charges if c.status == "succeeded") == [1000, 1000]


async def test_a_declining_card_is_retried_on_days_1_3_5_7_then_terminated(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, DECLINING_CARD, dunning_outcome="terminate")
    [invoice] = await invoices_of(sessions)
    assert invoice.payment_status == "failed"
    assert await attempt_statuses(sessions, invoice.id) == ["failed"]
    # (clock time, attempts made by then): retries exactly on days 1, 3, 5 and 7.
    schedule = [
        ("2026-03-01T23:59:00Z", 1),
        ("2026-03-02T00:00:00Z", 2),
        ("2026-03-03T12:00:00Z", 2),
        ("2026-03-04T00:00:00Z", 3),
        ("2026-03-06T00:00:00Z", 4),
        ("2026-03-07T23:00:00Z", 4),
    ]
    for instant, attempts in schedule:
        await billing.advance(instant)
        assert len(await attempt_statuses(sessions, invoice.id)) == attempts, instant
        assert await billing.subscription_status() == "active"
    await billing.advance("2026-03-08T00:00:00Z")
    assert await attempt_statuses(sessions, invoice.id) == ["failed"] * 5
    # The campaign is over: the invoice is past due and the subscription terminated.
    assert await billing.subscription_status() == "terminated"
    [dunned, *_] = await invoices_of(sessions)
    assert (dunned.payment_status, dunned.payment_overdue) == ("failed", True)
    charges = await charges_of(localstripe_url, billing.stripe_customer)
    assert not [c for c in charges if c.status == "succeeded"]


async def test_keep_past_due_leaves_the_subscription_running(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, DECLINING_CARD, dunning_retry_days=[2])
    [invoice] = await invoices_of(sessions)
    await billing.advance("2026-03-03T00:00:00Z")
    assert await attempt_statuses(sessions, invoice.id) == ["failed", "failed"]
    assert await billing.subscription_status() == "active"
    [overdue] = await invoices_of(sessions)
    assert overdue.payment_overdue is True


async def test_a_card_replaced_during_dunning_pays_and_dunning_stops(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, DECLINING_CARD)
    [invoice] = await invoices_of(sessions)
    await billing.advance("2026-03-02T00:00:00Z")
    assert await attempt_statuses(sessions, invoice.id) == ["failed", "failed"]
    await add_card(localstripe_url, billing.stripe_customer, GOOD_CARD, default=True)
    await billing.advance("2026-03-04T00:00:00Z")
    assert await attempt_statuses(sessions, invoice.id) == ["failed", "failed", "succeeded"]
    await billing.advance("2026-03-10T00:00:00Z")  # no more retries: dunning is over
    assert await attempt_statuses(sessions, invoice.id) == ["failed", "failed", "succeeded"]
    [paid] = await invoices_of(sessions)
    assert (paid.payment_status, paid.total_paid_amount_cents, paid.payment_overdue) == (
        "succeeded",
        1000,
        False,
    )
    charges = await charges_of(localstripe_url, billing.stripe_customer)
    assert [c.amount for c in charges if c.status == "succeeded"] == [1000]


async def test_a_subscription_ahead_of_its_stripe_customer_is_paid_by_dunning(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    localstripe_url: str,
) -> None:
    """Customer and subscription created together: the Stripe customer (sync_with_provider)
    may not exist yet, or has no card, at the first attempt; a retry of the campaign pays."""
    billing = Billing(stack, tenant_a, localstripe_url)
    clock = await billing.ok(
        "POST",
        "/api/v1/test_clocks",
        {"test_clock": {"name": "c", "frozen_time": "2026-03-01T00:00:00Z"}},
    )
    billing.clock = clock["test_clock"]["lago_id"]
    customer = {
        "external_id": "cus_1",
        "email": "ops@example.com",
        "test_clock_id": billing.clock,
        "billing_configuration": {"payment_provider": "stripe", "sync_with_provider": True},
    }
    await billing.ok("POST", "/api/v1/customers", {"customer": customer})
    plan = {
        "name": "Pro",
        "code": "pro",
        "interval": "monthly",
        "amount_cents": 1000,
        "amount_currency": "USD",
        "pay_in_advance": True,
    }
    await billing.ok("POST", "/api/v1/plans", {"plan": plan})
    body = {"external_customer_id": "cus_1", "plan_code": "pro", "external_id": "sub_1"}
    await billing.ok("POST", "/api/v1/subscriptions", {"subscription": body})
    await billing.advance("2026-03-01T00:00:00Z")
    [invoice] = await invoices_of(sessions)
    assert await attempt_statuses(sessions, invoice.id) == ["failed"]

    async def synced() -> bool:
        found = await billing.ok("GET", "/api/v1/customers/cus_1")
        return bool(found["customer"]["billing_configuration"]["provider_customer_id"])

    await _until(synced)
    found = await billing.ok("GET", "/api/v1/customers/cus_1")
    stripe_id = found["customer"]["billing_configuration"]["provider_customer_id"]
    await add_card(localstripe_url, stripe_id, GOOD_CARD, default=True)
    await billing.advance("2026-03-02T00:00:00Z")
    assert await attempt_statuses(sessions, invoice.id) == ["failed", "succeeded"]
    charges = await charges_of(localstripe_url, stripe_id)
    assert [c.amount for c in charges if c.status == "succeeded"] == [1000]
