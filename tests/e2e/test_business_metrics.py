"""Prometheus business metrics move by exactly the effects made, once each (issue 11).

Real effects through the real parts: invoices finalized and charged at localstripe by the
worker on the Temporal dev server, webhooks delivered to a real receiver (failing, then
answering), events stored by the API's ingestion pipeline. The counters are this
process's (API and worker run in it, as in `bxb up`), read before and after each effect.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from bxb.activities.webhooks import WebhookActivities
from bxb.api.app import create_app
from bxb.core.db import transaction
from bxb.core.metrics import (
    INVOICES_FINALIZED,
    MRR_GAUGE,
    count_on_commit,
    serve_worker_metrics,
)
from bxb.core.settings import Settings
from bxb.models import BillableMetric, Payment
from bxb.webhooks.outbox import dispatch, emit
from bxb.worker import run_worker
from bxb.workflows.webhook_delivery import DeliveryAttempt, DeliveryPolicy
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.billing import Billing, attempt_statuses, invoices_of
from tests.support.ports import free_port
from tests.support.stripe_cards import DECLINING_CARD, GOOD_CARD
from tests.support.stripe_events import event, signature
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

# localstripe asks for 3-D Secure on this card: the PaymentIntent waits (requires_action).
AUTHENTICATION_CARD = "4000002500003155"

FAST = DeliveryPolicy(
    initial_interval_seconds=0.05,
    maximum_interval_seconds=0.2,
    maximum_attempts=3,
    request_timeout_seconds=5,
)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def figures() -> dict[str, float]:
    return {
        "finalized": value("bxb_invoices_finalized_total"),
        "paid": value("bxb_payments_attempts_total", status="succeeded"),
        "declined": value("bxb_payments_attempts_total", status="failed"),
        "delivered": value("bxb_webhook_deliveries_total", outcome="succeeded"),
        "undelivered": value("bxb_webhook_deliveries_total", outcome="failed"),
        "events": value("bxb_events_ingested_total"),
    }


def moved(before: dict[str, float]) -> dict[str, float]:
    """The counters that moved since before, by how much."""
    after = figures()
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


async def test_finalizing_and_a_good_card_count_once_per_invoice(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    before = figures()
    await billing.setup(receiver, GOOD_CARD)
    [march] = await invoices_of(sessions)
    assert await attempt_statuses(sessions, march.id) == ["succeeded"]
    grew = moved(before)
    assert (grew["finalized"], grew["paid"]) == (1, 1)
    assert "declined" not in grew

    before = figures()
    await billing.advance("2026-04-01T00:00:00Z")
    await billing.advance("2026-04-01T00:00:00Z")  # nothing more is due: nothing counts
    _, april = await invoices_of(sessions)
    assert april.payment_status == "succeeded"
    grew = moved(before)
    assert (grew["finalized"], grew["paid"]) == (1, 1)
    # The API's /metrics serves them (API and worker in one process, as `bxb up`).
    MRR_GAUGE.forget()  # figures cached by an earlier scrape are not this test's
    text = (await stack.get("/metrics")).text
    assert "bxb_invoices_finalized_total " in text
    assert 'bxb_payments_attempts_total{status="succeeded"}' in text
    # The MRR gauge, computed at the scrape: the $10 monthly plan.
    org = tenant_a.organization_id
    assert f'bxb_mrr_amount_cents{{currency="USD",organization_id="{org}"}} 1000.0' in text


async def test_each_declined_attempt_counts_as_failed(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    before = figures()
    await billing.setup(receiver, DECLINING_CARD, dunning_retry_days=[2])
    await billing.advance("2026-03-03T00:00:00Z")
    [invoice] = await invoices_of(sessions)
    assert await attempt_statuses(sessions, invoice.id) == ["failed", "failed"]
    grew = moved(before)
    assert (grew["finalized"], grew["declined"]) == (1, 2)
    assert "paid" not in grew


async def test_an_attempt_waiting_on_stripe_counts_once_when_its_webhook_settles_it(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    before = figures()
    await billing.setup(receiver, AUTHENTICATION_CARD)
    [invoice] = await invoices_of(sessions)
    assert await attempt_statuses(sessions, invoice.id) == ["processing"]
    assert "paid" not in moved(before)  # waiting on Stripe: no outcome yet
    async with sessions() as session:
        intent_id = await session.scalar(
            select(Payment.provider_payment_id).where(Payment.invoice_id == invoice.id)
        )
    assert intent_id is not None
    intent = {"id": intent_id, "amount": 1000, "amount_received": 1000, "currency": "usd"}
    body = event("payment_intent.succeeded", intent | {"status": "succeeded"})
    for _ in range(2):  # Stripe delivers at least once
        answer = await stack.post(
            f"/api/v1/webhooks/stripe/{tenant_a.organization_id}",
            content=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": signature(body)},
        )
        assert answer.status_code == 200, answer.text
    assert await attempt_statuses(sessions, invoice.id) == ["succeeded"]
    grew = moved(before)
    assert (grew["finalized"], grew["paid"]) == (1, 1)


@pytest.fixture
async def api(
    temporal_settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in app_client(create_app(temporal_settings)):
        yield client


async def test_webhook_attempts_count_by_outcome_and_a_retry_that_did_nothing_counts_nothing(
    api: httpx.AsyncClient,
    worker: str,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    receiver: WebhookReceiver,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    created = await api.post(
        "/api/v1/webhook_endpoints",
        json={"webhook_endpoint": {"webhook_url": receiver.url}},
        headers=tenant_a.headers,
    )
    assert created.status_code == 200, created.text
    secret = await api.get("/api/v1/webhook_endpoints/signing_secret", headers=tenant_a.headers)
    receiver.secret = secret.json()["webhook_signing_secret"]["secret"]
    receiver.fail_first = 2
    async with transaction(sessions) as session:
        invoice_id = uuid.uuid4()
        [webhook_id] = await emit(
            session,
            tenant_a.organization_id,
            "invoice.created",
            invoice_id,
            {"invoice": {"lago_id": str(invoice_id)}},
        )
    before = figures()
    await dispatch(temporal_env.client, [webhook_id], task_queue=worker, policy=FAST)
    handle = temporal_env.client.get_workflow_handle(f"webhook/{webhook_id}")
    assert await handle.result() == "succeeded"
    assert [d.answered for d in receiver.deliveries] == [500, 500, 200]
    assert moved(before) == {"undelivered": 2, "delivered": 1}

    # The activity run again (a retry after its result was lost): delivered already.
    before = figures()
    activities = WebhookActivities(sessions)
    again = await ActivityEnvironment().run(
        activities.deliver_webhook, DeliveryAttempt(webhook_id, 5)
    )
    assert again == "skipped"
    assert moved(before) == {}
    assert len(receiver.deliveries) == 3


async def test_events_count_when_stored_and_duplicates_do_not(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with transaction(sessions) as session:
        session.add(
            BillableMetric(
                organization_id=tenant_a.organization_id,
                code="calls",
                name="Calls",
                aggregation_type="count_agg",
            )
        )

    def event(n: int) -> dict[str, object]:
        return {"transaction_id": f"tx-{n}", "external_subscription_id": "s", "code": "calls"}

    before = figures()
    batch = {"events": [event(1), event(2), event(3)]}
    answer = await client.post("/api/v1/events/batch", json=batch, headers=tenant_a.headers)
    assert answer.status_code == 200, answer.text
    assert moved(before) == {"events": 3}

    before = figures()
    batch = {"events": [event(2), event(3), event(4)]}  # two already stored
    answer = await client.post("/api/v1/events/batch", json=batch, headers=tenant_a.headers)
    assert answer.status_code == 200, answer.text
    single = await client.post("/api/v1/events", json={"event": event(1)}, headers=tenant_a.headers)
    assert single.status_code == 200, single.text
    assert moved(before) == {"events": 1}
    # Rejected (unknown metric): nothing stored, nothing counted.
    before = figures()
    bad = {"event": {**event(9), "code": "nope"}}
    refused = await client.post("/api/v1/events", json=bad, headers=tenant_a.headers)
    assert refused.status_code == 422
    assert moved(before) == {}


async def test_counts_wait_for_the_commit_and_a_rollback_drops_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def failing() -> None:
        async with transaction(sessions) as session:
            count_on_commit(session, INVOICES_FINALIZED)
            raise RuntimeError("the transaction fails")

    before = figures()
    with pytest.raises(RuntimeError):
        await failing()
    assert moved(before) == {}
    async with transaction(sessions) as session:
        count_on_commit(session, INVOICES_FINALIZED, amount=2)
        assert moved(before) == {}  # not committed yet
    assert moved(before) == {"finalized": 2}


async def test_bxb_worker_serves_metrics_on_its_port_until_it_stops(
    temporal_settings: Settings,
) -> None:
    port = free_port()
    settings = temporal_settings.model_copy(update={"worker_metrics_port": port})
    stop = asyncio.Event()
    running = asyncio.create_task(run_worker(settings, stop))
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                try:
                    answer = await http.get(url)
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the worker's metrics port never answered")
            assert "bxb_payments_attempts_total" in answer.text
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(url)


async def test_the_worker_serves_its_own_metrics_on_a_port() -> None:
    server = serve_worker_metrics("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{server.port}/metrics")
        assert answer.status_code == 200
        assert "bxb_webhook_deliveries_total" in answer.text
        assert "bxb_events_ingested_total" in answer.text
    finally:
        server.stop()
