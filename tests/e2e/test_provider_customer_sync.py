"""A customer created with sync_with_provider gets its Stripe customer, then pays with it.

Through the HTTP API (and the unmodified lago-python-client) and the real worker on the
Temporal dev server, with Stripe played by localstripe.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.models.customer import Customer, CustomerBillingConfiguration
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.events.postgres_store import PostgresEventStore
from bxb.worker import build_worker
from tests.support.auth import Tenant
from tests.support.billing import Billing, attempt_statuses, invoices_of
from tests.support.stripe_cards import GOOD_CARD, add_card, charges_of, stripe_client
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow


async def _eventually(read: Any, seconds: float = 30.0) -> Any:
    """read()'s first truthy answer (the sync runs after the API has answered)."""
    for _ in range(int(seconds / 0.1)):
        if value := await read():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("nothing came in time")


async def test_a_synced_customer_gets_a_stripe_customer_and_pays_its_subscription(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    secret = await billing.ok("GET", "/api/v1/webhook_endpoints/signing_secret")
    receiver.secret = secret["webhook_signing_secret"]["secret"]
    endpoint = {"webhook_url": receiver.url, "signature_algo": "hmac"}
    await billing.ok("POST", "/api/v1/webhook_endpoints", {"webhook_endpoint": endpoint})
    clock = {"test_clock": {"name": "c", "frozen_time": "2026-03-01T00:00:00Z"}}
    billing.clock = (await billing.ok("POST", "/api/v1/test_clocks", clock))["test_clock"][
        "lago_id"
    ]
    customer = {
        "external_id": "cus_1",
        "name": "Hooli",
        "email": "billing@hooli.test",
        "currency": "USD",
        "test_clock_id": billing.clock,
        "billing_configuration": {"payment_provider": "stripe", "sync_with_provider": True},
    }
    answered = await billing.ok("POST", "/api/v1/customers", {"customer": customer})
    lago_id = answered["customer"]["lago_id"]

    async def provider_id() -> str | None:
        found = await billing.ok("GET", "/api/v1/customers/cus_1")
        value: str | None = found["customer"]["billing_configuration"]["provider_customer_id"]
        return value

    stripe_id: str = await _eventually(provider_id)
    at_stripe = await stripe_client(localstripe_url).customers.retrieve_async(stripe_id)
    assert (at_stripe.name, at_stripe.email) == ("Hooli", "billing@hooli.test")
    assert at_stripe.to_dict()["metadata"] == {"lago_customer_id": lago_id, "customer_id": "cus_1"}

    async def created_webhook() -> list[Any]:
        return [
            d
            for d in receiver.deliveries
            if d.payload["webhook_type"] == "customer.payment_provider_created"
        ]

    [delivery] = await _eventually(created_webhook)
    assert delivery.verified
    assert delivery.payload["customer"]["lago_id"] == lago_id
    assert delivery.payload["customer"]["billing_configuration"]["provider_customer_id"] == (
        stripe_id
    )

    # The shop attaches a card to that customer; the subscription is then charged on it.
    await add_card(localstripe_url, stripe_id, GOOD_CARD, default=True)
    plan = {
        "name": "Pro",
        "code": "pro",
        "interval": "monthly",
        "amount_cents": 1000,
        "amount_currency": "USD",
        "pay_in_advance": True,
    }
    await billing.ok("POST", "/api/v1/plans", {"plan": plan})
    subscription = {"external_customer_id": "cus_1", "plan_code": "pro", "external_id": "sub_1"}
    await billing.ok("POST", "/api/v1/subscriptions", {"subscription": subscription})
    await billing.advance("2026-03-01T00:00:00Z")
    [invoice] = await invoices_of(sessions)
    assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("succeeded", 1000)
    assert await attempt_statuses(sessions, invoice.id) == ["succeeded"]
    charges = await charges_of(localstripe_url, stripe_id)
    assert [(c.amount, c.status) for c in charges] == [(1000, "succeeded")]
    # Updating the customer afterwards creates nothing more at Stripe.
    await billing.ok("POST", "/api/v1/customers", {"customer": customer | {"name": "Hooli Inc"}})
    assert await provider_id() == stripe_id


async def test_the_lago_client_asks_for_a_sync(
    live_api: str,
    stripe_settings: Any,
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    localstripe_url: str,
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    config = CustomerBillingConfiguration(payment_provider="stripe", sync_with_provider=True)
    wanted = Customer(external_id="cus_lago", email="ops@hooli.test", billing_configuration=config)
    queue = stripe_settings.temporal_task_queue
    events = PostgresEventStore(engine)
    async with build_worker(temporal_env.client, queue, sessions, events, stripe_settings):
        created = await asyncio.to_thread(lago.customers.create, wanted)
        assert created.billing_configuration.sync_with_provider is True

        async def provider_id() -> str | None:
            found = await asyncio.to_thread(lago.customers.find, "cus_lago")
            value: str | None = found.billing_configuration.provider_customer_id
            return value

        stripe_id = await _eventually(provider_id)
    at_stripe = await stripe_client(localstripe_url).customers.retrieve_async(stripe_id)
    assert at_stripe.to_dict()["metadata"]["lago_customer_id"] == created.lago_id
