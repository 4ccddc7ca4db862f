"""Webhook delivery through Temporal to a real receiver: signatures, retries, attempts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from bxb.activities.webhooks import Outcome, WebhookActivities
from bxb.api.app import create_app
from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.models import Webhook, WebhookAttempt
from bxb.models.base import utcnow
from bxb.webhooks import outbox
from bxb.webhooks.outbox import dispatch, emit, redispatch_pending
from bxb.workflows.webhook_delivery import DeliveryPolicy, workflow_id
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.ports import free_port
from tests.support.webhook_receiver import (
    WebhookReceiver,
    running_receiver,
    verify_lago_signature,
)

FAST = DeliveryPolicy(
    initial_interval_seconds=0.05,
    maximum_interval_seconds=0.2,
    maximum_attempts=3,
    request_timeout_seconds=5,
)


@pytest.fixture
async def api(
    temporal_settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """The API on Temporal, with the tiny retry schedule of FAST."""
    settings = temporal_settings.model_copy(
        update={"webhook_retry_initial_interval": 0.05, "webhook_max_attempts": 3}
    )
    async for client in app_client(create_app(settings)):
        yield client


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with running_receiver() as running:
        yield running


async def setup_endpoint(
    api: httpx.AsyncClient, tenant: Tenant, receiver: WebhookReceiver, url: str | None = None
) -> str:
    """Register url (default: the receiver) and give the receiver the signing secret."""
    created = await api.post(
        "/api/v1/webhook_endpoints",
        json={"webhook_endpoint": {"webhook_url": url or receiver.url, "signature_algo": "hmac"}},
        headers=tenant.headers,
    )
    assert created.status_code == 200, created.text
    secret = await api.get("/api/v1/webhook_endpoints/signing_secret", headers=tenant.headers)
    receiver.secret = secret.json()["webhook_signing_secret"]["secret"]
    lago_id: str = created.json()["webhook_endpoint"]["lago_id"]
    return lago_id


async def emit_invoice(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, invoice_id: uuid.UUID
) -> uuid.UUID:
    async with transaction(sessions) as session:
        [webhook_id] = await emit(
            session,
            tenant.organization_id,
            "invoice.created",
            invoice_id,
            {"invoice": {"lago_id": str(invoice_id), "total_amount_cents": 1250}},
        )
    return webhook_id


async def outcome(env: WorkflowEnvironment, webhook_id: uuid.UUID, manual_retries: int = 0) -> Any:
    handle = env.client.get_workflow_handle(workflow_id(webhook_id, manual_retries))
    async with asyncio.timeout(60):
        return await handle.result()


async def attempts(
    sessions: async_sessionmaker[AsyncSession], webhook_id: uuid.UUID
) -> tuple[Webhook, list[WebhookAttempt]]:
    async with sessions() as session:
        webhook = await session.get(Webhook, webhook_id)
        assert webhook is not None
        rows = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.webhook_id == webhook_id)
            .order_by(WebhookAttempt.attempt)
        )
        return webhook, list(rows.all())


async def test_a_delivery_is_signed_and_verified_by_the_receiver(
    api: httpx.AsyncClient,
    worker: str,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    receiver: WebhookReceiver,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await setup_endpoint(api, tenant_a, receiver)
    invoice_id = uuid.uuid4()
    webhook_id = await emit_invoice(sessions, tenant_a, invoice_id)
    await dispatch(temporal_env.client, [webhook_id], task_queue=worker, policy=FAST)
    assert await outcome(temporal_env, webhook_id) == "succeeded"

    [delivery] = receiver.deliveries
    assert delivery.verified
    assert delivery.answered == 200
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["x-bxb-webhook-id"] == str(webhook_id)
    assert delivery.headers["x-lago-unique-key"] == str(webhook_id)
    assert delivery.headers["x-lago-signature-algorithm"] == "hmac"
    assert verify_lago_signature(
        receiver.secret, delivery.body, delivery.headers["x-lago-signature"]
    )
    assert delivery.payload == {
        "webhook_type": "invoice.created",
        "object_type": "invoice",
        "organization_id": str(tenant_a.organization_id),
        "invoice": {"lago_id": str(invoice_id), "total_amount_cents": 1250},
    }
    webhook, tries = await attempts(sessions, webhook_id)
    assert (webhook.status, webhook.retries, webhook.http_status, webhook.response) == (
        "succeeded",
        0,
        200,
        "ok",
    )
    assert webhook.last_retried_at is None
    assert [(a.attempt, a.http_status, a.error) for a in tries] == [(1, 200, None)]
    assert tries[0].duration_ms >= 0


async def test_a_failing_receiver_gets_retries_until_it_answers(
    api: httpx.AsyncClient,
    worker: str,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    receiver: WebhookReceiver,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await setup_endpoint(api, tenant_a, receiver)
    receiver.fail_first = 2
    webhook_id = await emit_invoice(sessions, tenant_a, uuid.uuid4())
    await dispatch(temporal_env.client, [webhook_id], task_queue=worker, policy=FAST)
    assert await outcome(temporal_env, webhook_id) == "succeeded"

    assert [d.answered for d in receiver.deliveries] == [500, 500, 200]
    assert len({d.body for d in receiver.deliveries}) == 1  # every attempt sends the same bytes
    webhook, tries = await attempts(sessions, webhook_id)
    assert (webhook.status, webhook.retries, webhook.http_status) == ("succeeded", 2, 200)
    assert webhook.last_retried_at == tries[2].started_at
    assert [(a.attempt, a.http_status, a.error) for a in tries] == [
        (1, 500, "HTTP 500"),
        (2, 500, "HTTP 500"),
        (3, 200, None),
    ]


async def test_a_delivery_fails_after_its_attempts_and_can_be_retried(
    api: httpx.AsyncClient,
    worker: str,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    tenant_b: Tenant,
    receiver: WebhookReceiver,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await setup_endpoint(api, tenant_a, receiver)
    receiver.always_fail, receiver.fail_status = True, 503
    webhook_id = await emit_invoice(sessions, tenant_a, uuid.uuid4())
    await dispatch(temporal_env.client, [webhook_id], task_queue=worker, policy=FAST)
    assert await outcome(temporal_env, webhook_id) == "failed"

    listed = await api.get("/api/v1/webhooks?status=failed", headers=tenant_a.headers)
    [item] = listed.json()["webhooks"]
    assert (item["lago_id"], item["status"], item["retries"], item["http_status"]) == (
        str(webhook_id),
        "failed",
        2,
        503,
    )
    assert [(a["attempt"], a["http_status"], a["error"]) for a in item["attempts"]] == [
        (1, 503, "HTTP 503"),
        (2, 503, "HTTP 503"),
        (3, 503, "HTTP 503"),
    ]
    other = await api.post(f"/api/v1/webhooks/{webhook_id}/retry", headers=tenant_b.headers)
    assert other.status_code == 404

    receiver.always_fail = False
    retried = await api.post(f"/api/v1/webhooks/{webhook_id}/retry", headers=tenant_a.headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["webhook"]["status"] == "pending"
    assert await outcome(temporal_env, webhook_id, manual_retries=1) == "succeeded"
    webhook, tries = await attempts(sessions, webhook_id)
    assert (webhook.status, webhook.retries, webhook.http_status) == ("succeeded", 3, 200)
    assert [a.http_status for a in tries] == [503, 503, 503, 200]
    again = await api.post(f"/api/v1/webhooks/{webhook_id}/retry", headers=tenant_a.headers)
    assert again.status_code == 405


async def test_connection_errors_are_recorded(
    api: httpx.AsyncClient,
    worker: str,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    receiver: WebhookReceiver,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await setup_endpoint(api, tenant_a, receiver, url=f"http://127.0.0.1:{free_port()}/gone")
    webhook_id = await emit_invoice(sessions, tenant_a, uuid.uuid4())
    policy = DeliveryPolicy(0.05, 2.0, 0.1, 2, 0.5)
    await dispatch(temporal_env.client, [webhook_id], task_queue=worker, policy=policy)
    assert await outcome(temporal_env, webhook_id) == "failed"
    webhook, tries = await attempts(sessions, webhook_id)
    assert (webhook.status, webhook.http_status) == ("failed", None)
    assert [a.http_status for a in tries] == [None, None]
    assert all((a.error or "").startswith("ConnectError") for a in tries)
    assert webhook.response == tries[-1].error


async def test_a_slow_receiver_times_out(
    api: httpx.AsyncClient,
    worker: str,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    receiver: WebhookReceiver,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    receiver.delay = 1.0  # slower than the policy's 0.5 s
    await setup_endpoint(api, tenant_a, receiver)
    webhook_id = await emit_invoice(sessions, tenant_a, uuid.uuid4())
    policy = DeliveryPolicy(0.05, 2.0, 0.1, 2, 0.5)
    await dispatch(temporal_env.client, [webhook_id], task_queue=worker, policy=policy)
    assert await outcome(temporal_env, webhook_id) == "failed"
    _, tries = await attempts(sessions, webhook_id)
    assert [a.error for a in tries] == ["timed out after 0.5 s"] * 2
    assert all(a.http_status is None and a.duration_ms >= 400 for a in tries)


async def test_dispatching_again_delivers_once(
    api: httpx.AsyncClient,
    worker: str,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    receiver: WebhookReceiver,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await setup_endpoint(api, tenant_a, receiver)
    invoice_id = uuid.uuid4()
    webhook_id = await emit_invoice(sessions, tenant_a, invoice_id)
    assert await emit_invoice(sessions, tenant_a, invoice_id) == webhook_id
    client = temporal_env.client
    await asyncio.gather(*(dispatch(client, [webhook_id], task_queue=worker) for _ in range(3)))
    assert await outcome(temporal_env, webhook_id) == "succeeded"
    await dispatch(client, [webhook_id], task_queue=worker)  # after completion: a no-op
    assert await redispatch_pending(sessions, client, timedelta(0), task_queue=worker) == 0
    await asyncio.sleep(0.3)
    assert len(receiver.deliveries) == 1
    _, tries = await attempts(sessions, webhook_id)
    assert len(tries) == 1


async def test_rows_never_dispatched_are_picked_up(
    api: httpx.AsyncClient,
    worker: str,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    receiver: WebhookReceiver,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await setup_endpoint(api, tenant_a, receiver)
    # A crash between the commit and dispatch leaves rows pending with no workflow.
    invoice_id = uuid.uuid4()
    first = await emit_invoice(sessions, tenant_a, invoice_id)
    second = await emit_invoice(sessions, tenant_a, uuid.uuid4())
    async with sessions() as session:
        assert await outbox.undelivered(session, invoice_id) == [first]
    client = temporal_env.client
    assert await redispatch_pending(sessions, client, timedelta(hours=1), task_queue=worker) == 0
    # Defaults: the configured task queue and retry settings.
    monkeypatch.setenv("TEMPORAL_TASK_QUEUE", worker)
    monkeypatch.setattr(outbox, "REDISPATCH_BATCH", 1)  # page through the pending rows
    assert await redispatch_pending(sessions, client, timedelta(0)) == 2
    assert await outcome(temporal_env, first) == "succeeded"
    assert await outcome(temporal_env, second) == "succeeded"
    assert sorted(d.headers["x-bxb-webhook-id"] for d in receiver.deliveries) == sorted(
        [str(first), str(second)]
    )
    async with sessions() as session:
        assert await outbox.undelivered(session, invoice_id) == []


async def test_deliveries_of_a_deleted_endpoint_are_dropped(
    api: httpx.AsyncClient,
    worker: str,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    receiver: WebhookReceiver,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    endpoint_id = await setup_endpoint(api, tenant_a, receiver)
    webhook_id = await emit_invoice(sessions, tenant_a, uuid.uuid4())
    deleted = await api.delete(f"/api/v1/webhook_endpoints/{endpoint_id}", headers=tenant_a.headers)
    assert deleted.status_code == 200
    await dispatch(temporal_env.client, [webhook_id], task_queue=worker, policy=FAST)
    assert await outcome(temporal_env, webhook_id) == "succeeded"
    assert receiver.deliveries == []
    async with sessions() as session:
        assert await session.get(Webhook, webhook_id) is None


async def test_an_attempt_on_a_vanished_row_is_not_recorded(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    activities = WebhookActivities(sessions)
    failed = Outcome(utcnow(), 3, 500, "no", "HTTP 500")
    assert await activities.record_attempt(uuid.uuid4(), failed) == 0
    async with sessions() as session:
        assert (await session.scalars(select(WebhookAttempt))).all() == []


def test_dispatch_from_an_activity_uses_the_worker_task_queue() -> None:
    environment = ActivityEnvironment()
    queue = environment.run(outbox.resolve_task_queue, None)
    assert queue == environment.info.task_queue
    assert outbox.resolve_task_queue("elsewhere") == "elsewhere"


def test_configured_settings_are_the_defaults(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "_defaults", outbox._Defaults())
    monkeypatch.setenv("TEMPORAL_TASK_QUEUE", "from-the-environment")
    assert outbox.resolve_task_queue(None) == "from-the-environment"
    outbox.configure(settings)
    assert outbox.resolve_task_queue(None) == settings.temporal_task_queue
