"""Tracing end to end: one request's trace goes on into the workflow and activities it caused.

A real OTLP/HTTP receiver (tests/support/otlp_receiver.py) gets what the exporter sends; the
API and a worker in this process are configured to export there, as `bxb up` would be with
OTEL_EXPORTER_OTLP_ENDPOINT set. The worker has its own engine and client, made after
tracing is on (as `bxb worker` makes them).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.api.app import create_app
from bxb.core import tracing
from bxb.core.db import create_engine, create_sessionmaker
from bxb.core.settings import Settings
from bxb.core.temporal import connect
from bxb.core.tracing import Tracing, configure_tracing
from bxb.events.postgres_store import PostgresEventStore
from bxb.worker import build_worker
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.otlp_receiver import (
    CLIENT,
    SERVER,
    OtlpReceiver,
    ReceivedSpan,
    running_otlp_receiver,
)
from tests.support.subscriptions import SubscriptionApi
from tests.support.webhook_receiver import WebhookReceiver, running_receiver

pytestmark = pytest.mark.slow

# A trace the test starts itself, sent as W3C traceparent: the API must continue it.
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    with running_otlp_receiver() as receiver:
        yield receiver


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with running_receiver() as receiver:
        yield receiver


@dataclass
class Traced:
    tracing: Tracing
    settings: Settings


@pytest.fixture
async def traced(temporal_settings: Settings, otlp: OtlpReceiver) -> AsyncIterator[Traced]:
    """Tracing on for this process, exporting to the receiver, as `bxb up` turns it on."""
    settings = temporal_settings.model_copy(
        update={"otel_exporter_otlp_endpoint": otlp.endpoint, "workflow_update_timeout": 10.0}
    )
    stop = configure_tracing(settings, "bxb")
    active = tracing.active()
    assert active is not None
    try:
        yield Traced(active, settings)
    finally:
        stop()
    # Off again, and the process-wide patch is off with it (the next tests run untraced).
    assert tracing.active() is None
    assert not HTTPXClientInstrumentor().is_instrumented_by_opentelemetry


async def _spans_until(
    active: Tracing, otlp: OtlpReceiver, done: Callable[[], bool], seconds: float = 30.0
) -> None:
    """Flush until the receiver has what done() looks for (activities run after answers)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        await asyncio.to_thread(active.force_flush)
        if done() or asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.2)


def _names(spans: list[ReceivedSpan]) -> set[str]:
    return {s.name for s in spans}


def _is_sql(span: ReceivedSpan) -> bool:
    system = span.attributes.get("db.system") or span.attributes.get("db.system.name")
    return span.kind == CLIENT and system == "postgresql"


async def test_a_request_traces_into_the_workflow_and_activities_it_starts(
    traced: Traced,
    otlp: OtlpReceiver,
    hooks: WebhookReceiver,
    temporal_env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    settings, active = traced.settings, traced.tracing
    engine = create_engine(settings.resolved_database_url, pool_size=2)
    client = await connect(settings.resolved_temporal_address, settings.temporal_namespace)
    worker = build_worker(
        client,
        settings.temporal_task_queue,
        create_sessionmaker(engine),
        PostgresEventStore(engine),
        settings,
    )
    try:
        async with worker:
            async for http in app_client(create_app(settings)):
                api = SubscriptionApi(http, tenant_a)
                trace = await _a_subscription_is_traced_to_its_webhook(active, otlp, hooks, api)
                await _an_update_continues_the_callers_trace(active, otlp, api, trace)
    finally:
        await engine.dispose()


async def _a_subscription_is_traced_to_its_webhook(
    active: Tracing, otlp: OtlpReceiver, hooks: WebhookReceiver, api: SubscriptionApi
) -> str:
    """POST /subscriptions: its trace holds the request, its SQL, the workflow start, the
    workflow, its activities and their SQL, the webhook's workflow and its HTTP POST."""
    secret = await api.ok("GET", "/api/v1/webhook_endpoints/signing_secret")
    hooks.secret = secret["webhook_signing_secret"]["secret"]
    endpoint = {"webhook_url": hooks.url, "signature_algo": "hmac"}
    await api.ok("POST", "/api/v1/webhook_endpoints", {"webhook_endpoint": endpoint})
    await api.customer_on_clock("2026-01-01T00:00:00Z")
    # Paid in advance: the start bills at once, and the invoice's webhook is sent.
    await api.plan(pay_in_advance=True)
    subscribed = await api.subscribe()
    assert subscribed.status_code == 200, subscribed.text

    server = await _server_span(active, otlp, "POST /api/v1/subscriptions")
    trace = server.trace_id

    def caused() -> bool:
        names = _names(otlp.in_trace(trace))
        return "RunActivity:deliver_webhook" in names and bool(names & {"POST", "HTTP POST"})

    await _spans_until(active, otlp, caused)
    spans = otlp.in_trace(trace)
    names = _names(spans)
    assert server.kind == SERVER
    assert server.service == "bxb"
    assert "StartUpdateWithStartWorkflow:SubscriptionWorkflow" in names
    assert "RunWorkflow:SubscriptionWorkflow" in names
    assert "HandleUpdate:create" in names
    activities = [s for s in spans if s.name.startswith("RunActivity:")]
    assert activities, names
    # SQL of the request itself, and SQL of an activity the workflow ran.
    sql = [s for s in spans if _is_sql(s)]
    assert any(s.parent_span_id == server.span_id for s in sql), names
    activity_ids = {s.span_id for s in activities}
    assert any(s.parent_span_id in activity_ids for s in sql), names
    # The invoice's webhook: its own workflow, still in the request's trace, and the
    # delivery's POST to the receiver as an httpx client span.
    assert "RunWorkflow:WebhookDeliveryWorkflow" in names
    posts = [s for s in spans if s.kind == CLIENT and s.name in {"POST", "HTTP POST"}]
    urls = {s.attributes.get("url.full") or s.attributes.get("http.url") for s in posts}
    assert hooks.url in urls, posts
    assert hooks.deliveries, "the webhook was delivered"
    # SQL outside any trace (the worker's start-up recovery, say) makes no trace of its own.
    assert not [s for s in otlp.spans if _is_sql(s) and not s.parent_span_id]
    return trace


async def _server_span(active: Tracing, otlp: OtlpReceiver, name: str) -> ReceivedSpan:
    await _spans_until(active, otlp, lambda: bool(otlp.named(name)))
    found = otlp.named(name)
    assert len(found) == 1, found
    return found[0]


async def _an_update_continues_the_callers_trace(
    active: Tracing, otlp: OtlpReceiver, api: SubscriptionApi, workflow_trace: str
) -> None:
    """A caller that traces too: the request joins its trace, and the update it sends is
    linked from the workflow. (The SDK's interceptor records a signal or update handler in
    the workflow's own trace, the one of the request that started it, with a link to the
    span that sent it: a workflow lives longer than any one request.)"""
    traceparent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    response = await api.client.put(
        "/api/v1/subscriptions/sub_1",
        json={"subscription": {"name": "Renamed"}},
        headers={**api.headers, "traceparent": traceparent},
    )
    assert response.status_code == 200, response.text
    assert response.json()["subscription"]["name"] == "Renamed"

    def handled() -> list[ReceivedSpan]:
        return [s for s in otlp.named("HandleUpdate:update") if s.links]

    await _spans_until(active, otlp, lambda: bool(handled()))
    spans = otlp.in_trace(CALLER_TRACE)
    names = _names(spans)
    server = next(s for s in spans if s.kind == SERVER)
    assert server.parent_span_id == CALLER_SPAN
    assert server.name == "PUT /api/v1/subscriptions/{external_id}"
    assert any(_is_sql(s) for s in spans), names
    sent = next(s for s in spans if s.name == "StartWorkflowUpdate:update")
    assert sent.parent_span_id == server.span_id
    [update] = handled()
    assert update.trace_id == workflow_trace
    assert update.links == ((CALLER_TRACE, sent.span_id),)


async def test_a_worker_on_an_untraced_client_traces_itself(
    traced: Traced, temporal_env: WorkflowEnvironment
) -> None:
    """The test fixtures' worker runs on a client made before tracing: build_worker adds the
    interceptor itself; on a client that traces already it adds none (spans would double)."""
    untraced = temporal_env.client
    interceptor = traced.tracing.temporal_interceptor()
    assert tracing.worker_interceptors(untraced) == [interceptor]
    settings = traced.settings
    client = await connect(settings.resolved_temporal_address, settings.temporal_namespace)
    assert list(client.config()["interceptors"]) == [interceptor]
    assert tracing.worker_interceptors(client) == []
