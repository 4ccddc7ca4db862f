"""The path from ingestion to a subscription's usage reactions, on the real Temporal dev
server (issue 10): the watcher signals after the commit, coalesced; the workflow runs the
registry's reactions on the signal, on each test clock advance, and before each close.

The reactions here are a recorder put in the registry for the test: what it saw (the
context and the events stored by then) is what a real reaction would have seen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.events.store import EventStore
from bxb.usage_reactions import registry
from bxb.usage_reactions.context import UsageContext
from bxb.usage_reactions.watcher import UsageWatcher
from bxb.workflows.billing_requests import BillingResult
from bxb.workflows.subscription import workflow_id
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.subscriptions import SubscriptionApi

pytestmark = pytest.mark.slow


@dataclass
class Seen:
    now: datetime
    period_end: datetime
    events: int


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Seen] = []

    async def __call__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        events: EventStore,
        context: UsageContext,
    ) -> list[BillingResult]:
        stored = await events.fetch(
            context.organization_id,
            context.external_id,
            "api_calls",
            context.period_start,
            context.period_end,
        )
        self.seen.append(Seen(context.now, context.period_end, len(stored)))
        return []

    async def saw(self, count: int, within: float = 15.0) -> None:
        deadline = time.monotonic() + within
        while not any(s.events >= count for s in self.seen):
            assert time.monotonic() < deadline, f"reactions saw {self.seen}, not {count} events"
            await asyncio.sleep(0.05)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(registry, "REACTIONS", [recorder])
    return recorder


@dataclass
class Api:
    sub: SubscriptionApi
    watcher: UsageWatcher


async def _api(settings: Settings, tenant: Tenant, window_ms: int) -> AsyncIterator[Api]:
    app = create_app(settings.model_copy(update={"usage_signal_window_ms": window_ms}))
    async for client in app_client(app):
        yield Api(SubscriptionApi(client, tenant), app.state.usage_watcher)


@pytest.fixture
async def api(temporal_settings: Settings, worker: str, tenant_a: Tenant) -> AsyncIterator[Api]:
    async for api in _api(temporal_settings, tenant_a, 200):
        yield api


@pytest.fixture
async def slow_api(
    temporal_settings: Settings, worker: str, tenant_a: Tenant
) -> AsyncIterator[Api]:
    """A window of a minute: after the first signal, none comes during the test."""
    async for api in _api(temporal_settings, tenant_a, 60_000):
        yield api


async def _setup(api: SubscriptionApi, pay_in_advance: bool = True) -> None:
    await api.customer_on_clock("2026-01-01T00:00:00Z")
    metric = await api.ok(
        "POST",
        "/api/v1/billable_metrics",
        {
            "billable_metric": {
                "name": "API calls",
                "code": "api_calls",
                "aggregation_type": "sum_agg",
                "field_name": "calls",
            }
        },
    )
    charge = {
        "billable_metric_id": metric["billable_metric"]["lago_id"],
        "charge_model": "standard",
        "pay_in_advance": pay_in_advance,
        "invoiceable": True,
        "properties": {"amount": "1"},
    }
    await api.plan(charges=[charge])
    response = await api.subscribe()
    assert response.status_code == 200, response.text


async def _event(api: SubscriptionApi, n: int) -> None:
    event: dict[str, Any] = {
        "transaction_id": f"tx_{n}",
        "external_subscription_id": "sub_1",
        "code": "api_calls",
        "properties": {"calls": 1},
    }
    await api.ok("POST", "/api/v1/events", {"event": event})


async def _signals(env: WorkflowEnvironment, tenant: Tenant) -> int:
    handle = env.client.get_workflow_handle(workflow_id(tenant.organization_id, "sub_1"))
    count = 0
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            attributes = event.workflow_execution_signaled_event_attributes
            count += attributes.signal_name == "usage_arrived"
    return count


async def test_signals_are_coalesced_and_the_reactions_see_every_event(
    api: Api, recorder: Recorder, temporal_env: WorkflowEnvironment, tenant_a: Tenant
) -> None:
    await _setup(api.sub)
    started = time.monotonic()
    for wave in range(3):  # 3 waves of 20 concurrent events
        await asyncio.gather(*(_event(api.sub, wave * 20 + n) for n in range(20)))
    await api.watcher.flush()
    await recorder.saw(60)
    took = time.monotonic() - started
    signals = await _signals(temporal_env, tenant_a)
    # At most one per 200 ms window (plus the first), never one per event.
    assert 1 <= signals <= int(took / 0.2) + 2
    assert signals < 60
    assert api.watcher.stats.signals == signals
    # Every reaction ran in the open period, at the clock's time.
    assert {s.now for s in recorder.seen} == {datetime(2026, 1, 1, tzinfo=UTC)}


async def test_events_of_plans_without_reactions_send_no_signal(
    api: Api, recorder: Recorder, temporal_env: WorkflowEnvironment, tenant_a: Tenant
) -> None:
    await _setup(api.sub, pay_in_advance=False)
    await asyncio.gather(*(_event(api.sub, n) for n in range(10)))
    await api.watcher.flush()
    assert api.watcher.stats.observed == 10
    assert api.watcher.stats.signals == 0
    assert await _signals(temporal_env, tenant_a) == 0
    # Nor do the reactions run at the close of the period (nothing reacts to usage).
    assert (await api.sub.advance("2026-02-01T00:00:00Z")).status_code == 200
    assert recorder.seen == []


async def test_a_clock_advance_reacts_to_usage_sent_before_it(
    slow_api: Api, recorder: Recorder
) -> None:
    api = slow_api.sub
    await _setup(api)
    await _event(api, 1)
    await slow_api.watcher.flush()
    await recorder.saw(1)  # the first event is signalled at once
    await _event(api, 2)
    await _event(api, 3)
    await slow_api.watcher.looked_up()  # their signal waits for the minute's window
    assert slow_api.watcher.stats.observed == 3
    assert slow_api.watcher.stats.signals == 1
    assert max(s.events for s in recorder.seen) == 1
    response = await api.advance("2026-01-01T01:00:00Z")
    assert response.status_code == 200, response.text
    # By the time the advance answers, the reactions have seen both events.
    assert max(s.events for s in recorder.seen) == 3


async def test_reactions_run_once_before_each_period_close(
    slow_api: Api, recorder: Recorder
) -> None:
    api = slow_api.sub
    await _setup(api)
    await _event(api, 1)
    await slow_api.watcher.flush()
    await recorder.saw(1)
    recorder.seen.clear()
    response = await api.advance("2026-03-01T00:00:00Z")
    assert response.status_code == 200, response.text
    closes = [s for s in recorder.seen if s.now == s.period_end]
    assert [(s.now, s.events) for s in closes] == [
        (datetime(2026, 2, 1, tzinfo=UTC), 1),
        (datetime(2026, 3, 1, tzinfo=UTC), 0),
    ]
