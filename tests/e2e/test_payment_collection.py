"""Collecting subscription invoices end to end: Stripe (localstripe), a test clock, dunning.

Everything goes through the HTTP API and the real worker on the Temporal dev server; the
card network is localstripe driven through the stripe SDK; a webhook receiver in the test
verifies each delivery's signature.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.events.postgres_store import PostgresEventStore
from bxb.models import Invoice, Payment
from bxb.worker import build_worker
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.stripe_cards import (
    API_KEY,
    DECLINING_CARD,
    GOOD_CARD,
    add_card,
    charges_of,
    stripe_customer,
)
from tests.support.webhook_receiver import WebhookReceiver, running_receiver

pytestmark = pytest.mark.slow


@pytest.fixture
def stripe_settings(temporal_settings: Settings, localstripe_url: str) -> Settings:
    return temporal_settings.model_copy(
        update={"stripe_api_key": API_KEY, "stripe_api_base": localstripe_url}
    )


@pytest.fixture
async def stack(
    stripe_settings: Settings,
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[httpx.AsyncClient]:
    """The API and the worker, both configured for Stripe at localstripe."""
    queue = stripe_settings.temporal_task_queue
    events = PostgresEventStore(engine)
    async with build_worker(temporal_env.client, queue, sessions, events, stripe_settings):
        async for client in app_client(create_app(stripe_settings)):
            yield client


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with running_receiver() as running:
        yield running


class Billing:
    def __init__(self, client: httpx.AsyncClient, tenant: Tenant, localstripe: str) -> None:
        self.client = client
        self.headers = tenant.headers
        self.localstripe = localstripe
        self.clock = ""
        self.stripe_customer = ""

    async def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.client.request(method, path, json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def setup(self, receiver: WebhookReceiver, card: str, **billing: Any) -> None:
        """A monthly $10 plan paid in advance, a Stripe customer on a test clock."""
        if billing:
            config = {"billing_configuration": billing}
            await self.ok("PUT", "/api/v1/organizations", {"organization": config})
        secret = await self.ok("GET", "/api/v1/webhook_endpoints/signing_secret")
        receiver.secret = secret["webhook_signing_secret"]["secret"]
        endpoint = {"webhook_url": receiver.url, "signature_algo": "hmac"}
        await self.ok("POST", "/api/v1/webhook_endpoints", {"webhook_endpoint": endpoint})
        clock = await self.ok(
            "POST",
            "/api/v1/test_clocks",
            {"test_clock": {"name": "c", "frozen_time": "2026-03-01T00:00:00Z"}},
        )
        self.clock = clock["test_clock"]["lago_id"]
        self.stripe_customer = await stripe_customer(self.localstripe, card)
        customer = {
            "external_id": "cus_1",
            "currency": "USD",
            "test_clock_id": self.clock,
            "billing_configuration": {
                "payment_provider": "stripe",
                "provider_customer_id": self.stripe_customer,
            },
        }
        await self.ok("POST", "/api/v1/customers", {"customer": customer})
        plan = {
            "name": "Pro",
            "code": "pro",
            "interval": "monthly",
            "amount_cents": 1000,
            "amount_currency": "USD",
            "pay_in_advance": True,
        }
        await self.ok("POST", "/api/v1/plans", {"plan": plan})
        body = {"external_customer_id": "cus_1", "plan_code": "pro", "external_id": "sub_1"}
        await self.ok("POST", "/api/v1/subscriptions", {"subscription": body})
        # The subscription answers at once; its first payment follows. Advancing the clock
        # to where it is returns once everything due until then is done.
        await self.advance("2026-03-01T00:00:00Z")

    async def advance(self, to: str) -> None:
        await self.ok(
            "POST",
            f"/api/v1/test_clocks/{self.clock}/advance",
            {"test_clock": {"frozen_time": to}},
        )

    async def subscription_status(self) -> str:
        query = "external_customer_id=cus_1&status[]=active&status[]=terminated"
        [sub] = (await self.ok("GET", f"/api/v1/subscriptions?{query}"))["subscriptions"]
        status: str = sub["status"]
        return status


async def _invoices(sessions: async_sessionmaker[AsyncSession]) -> list[Invoice]:
    async with sessions() as session:
        query = select(Invoice).order_by(Invoice.created_at)
        return list(await session.scalars(query.execution_options(populate_existing=True)))


async def _attempts(sessions: async_sessionmaker[AsyncSession], invoice_id: uuid.UUID) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.attempt)
        )
        return [row.status for row in rows]


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
    [invoice] = await _invoices(sessions)
    assert (invoice.status, invoice.payment_status) == ("finalized", "succeeded")
    assert (invoice.total_amount_cents, invoice.total_paid_amount_cents) == (1000, 1000)
    assert await _attempts(sessions, invoice.id) == ["succeeded"]
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
    _, april = await _invoices(sessions)
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
    [invoice] = await _invoices(sessions)
    assert invoice.payment_status == "failed"
    assert await _attempts(sessions, invoice.id) == ["failed"]
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
        assert len(await _attempts(sessions, invoice.id)) == attempts, instant
        assert await billing.subscription_status() == "active"
    await billing.advance("2026-03-08T00:00:00Z")
    assert await _attempts(sessions, invoice.id) == ["failed"] * 5
    # The campaign is over: the invoice is past due and the subscription terminated.
    assert await billing.subscription_status() == "terminated"
    [dunned, *_] = await _invoices(sessions)
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
    [invoice] = await _invoices(sessions)
    await billing.advance("2026-03-03T00:00:00Z")
    assert await _attempts(sessions, invoice.id) == ["failed", "failed"]
    assert await billing.subscription_status() == "active"
    [overdue] = await _invoices(sessions)
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
    [invoice] = await _invoices(sessions)
    await billing.advance("2026-03-02T00:00:00Z")
    assert await _attempts(sessions, invoice.id) == ["failed", "failed"]
    await add_card(localstripe_url, billing.stripe_customer, GOOD_CARD, default=True)
    await billing.advance("2026-03-04T00:00:00Z")
    assert await _attempts(sessions, invoice.id) == ["failed", "failed", "succeeded"]
    await billing.advance("2026-03-10T00:00:00Z")  # no more retries: dunning is over
    assert await _attempts(sessions, invoice.id) == ["failed", "failed", "succeeded"]
    [paid] = await _invoices(sessions)
    assert (paid.payment_status, paid.total_paid_amount_cents, paid.payment_overdue) == (
        "succeeded",
        1000,
        False,
    )
    charges = await charges_of(localstripe_url, billing.stripe_customer)
    assert [c.amount for c in charges if c.status == "succeeded"] == [1000]
