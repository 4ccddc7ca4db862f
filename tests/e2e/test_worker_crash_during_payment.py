"""A worker killed (SIGKILL) in the middle of collecting a payment, then started again.

The worst moment is chosen on purpose: the card has been charged at the provider, and the
worker dies before it hears so. A new worker takes the attempt over (the heartbeat timeout
notices the dead one), finds the charge instead of making another, and the subscription's
workflow goes on billing: one charge per invoice, no invoice lost.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.models import Invoice, Payment
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.holding_proxy import holding_proxy
from tests.support.stripe_cards import API_KEY, GOOD_CARD, charges_of, stripe_customer
from tests.support.worker_process import start_worker_process

pytestmark = pytest.mark.slow


@pytest.fixture
async def api(
    temporal_settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    # After `sessions`, so the app stops (and writes its last API logs) before truncation.
    async for client in app_client(create_app(temporal_settings)):
        yield client


async def _start_worker(
    settings: Settings, temporal_env: WorkflowEnvironment, stripe_base: str
) -> asyncio.subprocess.Process:
    address = temporal_env.client.service_client.config.target_host
    return await start_worker_process(
        settings, address, STRIPE_API_KEY=API_KEY, STRIPE_API_BASE=stripe_base
    )


async def _invoices(sessions: async_sessionmaker[AsyncSession]) -> list[Invoice]:
    async with sessions() as session:
        query = (
            select(Invoice).order_by(Invoice.created_at).execution_options(populate_existing=True)
        )
        return list(await session.scalars(query))


async def _payments(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int | None, str]]:
    async with sessions() as session:
        rows = await session.scalars(select(Payment).order_by(Payment.created_at))
        return [(row.attempt, row.status) for row in rows]


async def _ok(api: httpx.AsyncClient, tenant: Tenant, path: str, body: object) -> object:
    response = await api.post(path, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_killing_the_worker_mid_payment_never_charges_twice(
    api: httpx.AsyncClient,
    temporal_settings: Settings,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    localstripe_url: str,
) -> None:
    card_holder = await stripe_customer(localstripe_url, GOOD_CARD)
    clock = await _ok(
        api,
        tenant_a,
        "/api/v1/test_clocks",
        {"test_clock": {"name": "c", "frozen_time": "2026-05-01T00:00:00Z"}},
    )
    assert isinstance(clock, dict)
    clock_id = clock["test_clock"]["lago_id"]
    customer = {
        "external_id": "cus_1",
        "test_clock_id": clock_id,
        "billing_configuration": {
            "payment_provider": "stripe",
            "provider_customer_id": card_holder,
        },
    }
    await _ok(api, tenant_a, "/api/v1/customers", {"customer": customer})
    plan = {
        "name": "Pro",
        "code": "pro",
        "interval": "monthly",
        "amount_cents": 2500,
        "amount_currency": "USD",
        "pay_in_advance": True,
    }
    await _ok(api, tenant_a, "/api/v1/plans", {"plan": plan})
    with holding_proxy(localstripe_url) as proxy:
        proxy.hold = True
        worker = await _start_worker(temporal_settings, temporal_env, proxy.url)
        try:
            body = {"external_customer_id": "cus_1", "plan_code": "pro", "external_id": "s1"}
            await _ok(api, tenant_a, "/api/v1/subscriptions", {"subscription": body})
            # The charge went through at the provider; its answer is held back. Kill now.
            assert await asyncio.to_thread(proxy.charged.wait, 60)
            worker.send_signal(signal.SIGKILL)
            await worker.wait()
        finally:
            if worker.returncode is None:
                worker.kill()
        charges = await charges_of(localstripe_url, card_holder)
        assert [(c.amount, c.status) for c in charges] == [(2500, "succeeded")]
        [invoice] = await _invoices(sessions)
        assert invoice.payment_status == "pending"  # nobody knows of the charge yet
        assert await _payments(sessions) == [(1, "pending")]

        proxy.hold = False
        worker = await _start_worker(temporal_settings, temporal_env, proxy.url)
        try:
            # The advance answers once the subscription has caught up, i.e. once the
            # taken-over attempt has finished on the new worker.
            await _ok(
                api,
                tenant_a,
                f"/api/v1/test_clocks/{clock_id}/advance",
                {"test_clock": {"frozen_time": "2026-05-01T00:00:00Z"}},
            )
            [invoice] = await _invoices(sessions)
            assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("succeeded", 2500)
            assert await _payments(sessions) == [(1, "succeeded")]
            charges = await charges_of(localstripe_url, card_holder)
            assert [(c.amount, c.status) for c in charges] == [(2500, "succeeded")]
            # The workflow goes on: June is invoiced and charged, once.
            await _ok(
                api,
                tenant_a,
                f"/api/v1/test_clocks/{clock_id}/advance",
                {"test_clock": {"frozen_time": "2026-06-01T00:00:00Z"}},
            )
            may, june = await _invoices(sessions)
            assert (may.sequential_id, june.sequential_id) == (1, 2)
            assert june.payment_status == "succeeded"
            charges = await charges_of(localstripe_url, card_holder)
            assert sorted(c.amount for c in charges if c.status == "succeeded") == [2500, 2500]
        finally:
            worker.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                await worker.wait()
