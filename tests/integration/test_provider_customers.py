"""Creating customers at Stripe (sync_with_provider) against a real localstripe.

Verified here about localstripe: it lists customers filtered by `email` (and by nothing
else) and keeps metadata, which is how a run that crashed after Stripe answered finds the
customer it created instead of creating a second one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.events.postgres_store import PostgresEventStore
from bxb.models import Customer
from bxb.models.base import utcnow
from bxb.payments.customers import (
    CREATED_WEBHOOK,
    ERROR_WEBHOOK,
    customer_details,
    resume_unstarted_syncs,
    sync_provider_customer,
)
from bxb.payments.provider import (
    CustomerDetails,
    ProviderRefusedError,
    ProviderUnavailableError,
)
from bxb.payments.stripe_provider import StripeProvider
from bxb.worker import build_worker
from tests.integration.test_payments import listen_to_webhooks, queued_webhooks
from tests.support.auth import Tenant
from tests.support.ports import free_port
from tests.support.stripe_cards import API_KEY, stripe_client


async def sync_customer(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, **fields: Any
) -> uuid.UUID:
    """A bxb customer that asks to be created at Stripe (fields override the defaults)."""
    values: dict[str, Any] = {
        "external_id": f"cus_{uuid.uuid4().hex[:8]}",
        "sequential_id": 1,
        "name": "Gavin Belson",
        "email": "gavin@hooli.test, billing@hooli.test",
        "phone": "1-171-883-3711",
        "address_line1": "5230 Penfield Ave",
        "city": "Woodland Hills",
        "state": "CA",
        "zipcode": "91364",
        "country": "US",
        "payment_provider": "stripe",
        "sync_with_provider": True,
    } | fields
    async with transaction(sessions) as session:
        customer = Customer(organization_id=tenant.organization_id, **values)
        session.add(customer)
        await session.flush()
        return customer.id


async def row(sessions: async_sessionmaker[AsyncSession], customer_id: uuid.UUID) -> Customer:
    async with sessions() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        return customer


async def stripe_customers_of(localstripe_url: str, customer_id: uuid.UUID) -> list[Any]:
    """Every Stripe customer whose metadata names this bxb customer."""
    page = await stripe_client(localstripe_url).customers.list_async({"limit": 100})
    return [
        c
        async for c in page.auto_paging_iter()
        if (c.to_dict().get("metadata") or {}).get("lago_customer_id") == str(customer_id)
    ]


@pytest.fixture
def provider(localstripe_url: str) -> StripeProvider:
    return StripeProvider(API_KEY, localstripe_url)


async def test_a_stripe_customer_is_created_with_the_customers_details(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    provider: StripeProvider,
    localstripe_url: str,
) -> None:
    await listen_to_webhooks(sessions, tenant_a)
    customer_id = await sync_customer(sessions, tenant_a)

    outcome = await sync_provider_customer(sessions, provider, customer_id, retry=False)

    [created] = await stripe_customers_of(localstripe_url, customer_id)
    assert (outcome.status, outcome.provider_customer_id) == ("created", created.id)
    customer = await row(sessions, customer_id)
    assert customer.provider_customer_id == created.id
    assert (created.name, created.email, created.phone) == (
        "Gavin Belson",
        "gavin@hooli.test",
        "1-171-883-3711",
    )
    assert created.to_dict()["address"] == {
        "line1": "5230 Penfield Ave",
        "city": "Woodland Hills",
        "state": "CA",
        "postal_code": "91364",
        "country": "US",
    }
    assert created.to_dict()["metadata"] == {
        "lago_customer_id": str(customer_id),
        "customer_id": customer.external_id,
    }
    [webhook] = await queued_webhooks(sessions, tenant_a)
    assert webhook.id in outcome.webhook_ids
    assert (webhook.webhook_type, webhook.object_type) == (CREATED_WEBHOOK, "customer")
    sent = webhook.payload["customer"]
    assert (sent["lago_id"], sent["external_id"]) == (str(customer_id), customer.external_id)
    assert sent["billing_configuration"]["provider_customer_id"] == created.id
    assert sent["billing_configuration"]["sync_with_provider"] is True


async def test_running_twice_creates_one_stripe_customer(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    provider: StripeProvider,
    localstripe_url: str,
) -> None:
    customer_id = await sync_customer(sessions, tenant_a)
    first, second = await asyncio.gather(
        sync_provider_customer(sessions, provider, customer_id, retry=False),
        sync_provider_customer(sessions, provider, customer_id, retry=True),
    )
    third = await sync_provider_customer(sessions, provider, customer_id, retry=True)

    [created] = await stripe_customers_of(localstripe_url, customer_id)
    assert sorted([first.status, second.status, third.status]) == [
        "created",
        "not_needed",
        "not_needed",
    ]
    assert {first.provider_customer_id, second.provider_customer_id} == {created.id}
    assert (await row(sessions, customer_id)).provider_customer_id == created.id


@pytest.mark.parametrize(
    ("email", "retry"),
    [("gavin@hooli.test", False), (None, True)],
    ids=["found-by-email", "found-by-scanning-on-retry"],
)
async def test_a_customer_stripe_created_before_a_crash_is_adopted(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    provider: StripeProvider,
    localstripe_url: str,
    email: str | None,
    retry: bool,
) -> None:
    customer_id = await sync_customer(sessions, tenant_a, email=email)
    # Stripe created it, then the run died before committing its id.
    details = customer_details(await row(sessions, customer_id))
    earlier = await provider.create_customer(details, "first-try")

    outcome = await sync_provider_customer(sessions, provider, customer_id, retry=retry)

    assert (outcome.status, outcome.provider_customer_id) == ("found", earlier)
    assert [c.id for c in await stripe_customers_of(localstripe_url, customer_id)] == [earlier]
    assert (await row(sessions, customer_id)).provider_customer_id == earlier


@pytest.mark.parametrize(
    "fields",
    [
        {"provider_customer_id": "cus_already"},
        {"sync_with_provider": False},
        {"payment_provider": None},
        {"deleted_at": utcnow()},
    ],
    ids=["has-provider-id", "no-sync", "no-provider", "deleted"],
)
async def test_customers_that_need_no_sync_are_left_alone(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    provider: StripeProvider,
    localstripe_url: str,
    fields: Mapping[str, Any],
) -> None:
    await listen_to_webhooks(sessions, tenant_a)
    customer_id = await sync_customer(sessions, tenant_a, **fields)
    before = await row(sessions, customer_id)

    outcome = await sync_provider_customer(sessions, provider, customer_id, retry=True)

    assert outcome.status == "not_needed"
    assert outcome.provider_customer_id == fields.get("provider_customer_id")
    after = await row(sessions, customer_id)
    assert (after.provider_customer_id, after.updated_at) == (
        before.provider_customer_id,
        before.updated_at,
    )
    assert await stripe_customers_of(localstripe_url, customer_id) == []
    assert await queued_webhooks(sessions, tenant_a) == []


async def test_an_unknown_customer_or_no_stripe_key_does_nothing(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    missing = await sync_provider_customer(sessions, None, uuid.uuid4(), retry=False)
    assert (missing.status, missing.provider_customer_id) == ("not_needed", None)
    customer_id = await sync_customer(sessions, tenant_a)
    unconfigured = await sync_provider_customer(sessions, None, customer_id, retry=False)
    assert unconfigured.status == "no_provider"
    assert (await row(sessions, customer_id)).provider_customer_id is None


async def test_stripe_down_raises_for_temporal_to_retry(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    provider: StripeProvider,
    localstripe_url: str,
) -> None:
    await listen_to_webhooks(sessions, tenant_a)
    customer_id = await sync_customer(sessions, tenant_a)
    down = StripeProvider(API_KEY, f"http://127.0.0.1:{free_port()}")
    for retry in (False, True):
        with pytest.raises(ProviderUnavailableError):
            await sync_provider_customer(sessions, down, customer_id, retry=retry)
    assert (await row(sessions, customer_id)).provider_customer_id is None
    assert await queued_webhooks(sessions, tenant_a) == []
    # Once Stripe is back, the retry creates it.
    back = await sync_provider_customer(sessions, provider, customer_id, retry=True)
    assert back.status == "created"
    assert len(await stripe_customers_of(localstripe_url, customer_id)) == 1


class RefusingProvider(StripeProvider):
    async def create_customer(self, details: CustomerDetails, idempotency_key: str) -> str:
        raise ProviderRefusedError("Invalid email address: gavin@hooli")


async def test_a_refused_customer_is_reported_by_webhook_and_not_retried(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant, localstripe_url: str
) -> None:
    await listen_to_webhooks(sessions, tenant_a)
    customer_id = await sync_customer(sessions, tenant_a, payment_provider_code="stripe-us")

    outcome = await sync_provider_customer(
        sessions, RefusingProvider(API_KEY, localstripe_url), customer_id, retry=False
    )

    assert (outcome.status, outcome.message) == ("refused", "Invalid email address: gavin@hooli")
    assert (await row(sessions, customer_id)).provider_customer_id is None
    [webhook] = await queued_webhooks(sessions, tenant_a)
    assert webhook.webhook_type == ERROR_WEBHOOK
    assert webhook.payload["object_type"] == "payment_provider_customer_error"
    assert webhook.payload["payment_provider_customer_error"] == {
        "lago_customer_id": str(customer_id),
        "external_customer_id": (await row(sessions, customer_id)).external_id,
        "payment_provider": "stripe",
        "payment_provider_code": "stripe-us",
        "provider_error": "Invalid email address: gavin@hooli",
    }


async def test_stripe_refusing_the_details_is_a_refusal_not_an_outage(
    provider: StripeProvider,
) -> None:
    # localstripe answers 400 to an address field Stripe does not know.
    details = CustomerDetails("lago-1", "cus_1", address={"planet": "Mars"})
    with pytest.raises(ProviderRefusedError):
        await provider.create_customer(details, "key-1")
    assert await provider.find_customer("lago-1", None, scan_all=False) is None


async def test_the_api_accepts_and_echoes_sync_with_provider(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    """Without Temporal (this client has none) the customer is still saved: the worker
    resumes the sync when it starts."""

    async def post(billing: Any, tenant: Tenant = tenant_a) -> httpx.Response:
        body = {"external_id": "cus_1", "billing_configuration": billing}
        return await client.post(
            "/api/v1/customers", json={"customer": body}, headers=tenant.headers
        )

    created = await post({"payment_provider": "stripe", "sync_with_provider": True})
    assert created.status_code == 200, created.text
    config = created.json()["customer"]["billing_configuration"]
    assert (config["sync_with_provider"], config["provider_customer_id"]) == (True, None)
    cleared = await post({"sync_with_provider": None})
    assert cleared.json()["customer"]["billing_configuration"]["sync_with_provider"] is False
    wrong = await post({"sync_with_provider": "often"})
    assert wrong.status_code == 422
    assert wrong.json()["error_details"] == {
        "billing_configuration.sync_with_provider": ["invalid_type"]
    }
    other = await post({"payment_provider": "stripe"}, tenant_b)
    assert other.json()["customer"]["billing_configuration"]["sync_with_provider"] is False
    fetched = await client.get("/api/v1/customers/cus_1", headers=tenant_a.headers)
    assert fetched.json()["customer"]["billing_configuration"]["sync_with_provider"] is False


async def test_a_worker_starting_resumes_syncs_whose_start_was_lost(
    temporal_settings: Settings,
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    localstripe_url: str,
) -> None:
    settings = temporal_settings.model_copy(
        update={"stripe_api_key": API_KEY, "stripe_api_base": localstripe_url}
    )
    customer_id = await sync_customer(sessions, tenant_a)
    queue = settings.temporal_task_queue
    events = PostgresEventStore(engine)
    async with build_worker(temporal_env.client, queue, sessions, events, settings):
        assert await resume_unstarted_syncs(sessions, temporal_env.client, queue) == 1
        handle = temporal_env.client.get_workflow_handle(f"provider-customer/{customer_id}")
        assert await handle.result() == "created"
        assert await resume_unstarted_syncs(sessions, temporal_env.client, queue) == 0
        # A sync that ended is not rerun at start-up (it may have been refused).
        first_run = (await handle.describe()).run_id
        async with transaction(sessions) as session:
            await session.execute(
                update(Customer).where(Customer.id == customer_id).values(provider_customer_id=None)
            )
        assert await resume_unstarted_syncs(sessions, temporal_env.client, queue) == 1
        assert (await handle.describe()).run_id == first_run
    assert len(await stripe_customers_of(localstripe_url, customer_id)) == 1
