"""Temporal restarted in the middle of a test clock advance (issue 9).

A real, file-backed Temporal dev server (bxb's EmbeddedTemporal, as `bxb up` runs it) is
stopped while a clock advance bills a few subscriptions, and started again. The advance
retries the transport errors within its bound and answers 200: every period is billed
exactly once, numbering gapless. While Temporal is down, the calls that need it answer 503
in Lago's shape, never 500 or 422.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.core.embedded import EmbeddedTemporal
from bxb.core.settings import Settings
from bxb.core.temporal import SEARCH_ATTRIBUTE_TYPES, connect
from bxb.events.postgres_store import PostgresEventStore
from bxb.models import Invoice
from bxb.worker import build_worker
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.ports import free_port
from tests.support.subscriptions import SubscriptionApi

pytestmark = pytest.mark.slow

SUBSCRIPTIONS = 6
USAGE_OF_SUB_0 = "external_subscription_id=sub_0"
PREVIEW_OF_SUB_0 = {
    "customer": {"external_id": "cus_1"},
    "subscriptions": {"external_ids": ["sub_0"]},
}


@pytest.fixture
async def temporal(tmp_path: Path) -> AsyncIterator[EmbeddedTemporal]:
    server = EmbeddedTemporal(tmp_path, free_port(), None, "default", SEARCH_ATTRIBUTE_TYPES)
    await server.start()
    try:
        yield server
    finally:
        server.stop()


async def _invoices(sessions: async_sessionmaker[AsyncSession]) -> list[Invoice]:
    async with sessions() as session:
        query = select(Invoice).order_by(Invoice.sequential_id)
        return list(await session.scalars(query.execution_options(populate_existing=True)))


async def test_an_advance_survives_a_temporal_restart(
    temporal: EmbeddedTemporal,
    settings: Settings,
    tenant_a: Tenant,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    settings = settings.model_copy(
        update={"temporal_address": temporal.address, "workflow_update_timeout": 3.0}
    )
    client = await connect(temporal.address, "default")
    queue = settings.temporal_task_queue
    events = PostgresEventStore(engine)
    async with build_worker(client, queue, sessions, events, settings):
        async for http in app_client(create_app(settings)):
            api = SubscriptionApi(http, tenant_a)
            await api.customer_on_clock("2026-01-01T00:00:00Z")
            await api.plan()
            for n in range(SUBSCRIPTIONS):
                assert (await api.subscribe(f"sub_{n}")).status_code == 200
            advance = asyncio.create_task(api.advance("2026-07-01T00:00:00Z"))
            while not await _invoices(sessions):  # noqa: ASYNC110 - billing has begun
                await asyncio.sleep(0.05)
            assert not advance.done()
            temporal.stop()
            down = [
                await api.send("GET", f"/api/v1/customers/cus_1/current_usage?{USAGE_OF_SUB_0}"),
                await api.send("POST", "/api/v1/invoices/preview", PREVIEW_OF_SUB_0),
            ]
            await temporal.start()
            answer = await advance
    for response in down:
        assert response.status_code == 503, response.text
        body = response.json()
        assert (body["status"], body["error"], body["code"]) == (
            503,
            "Service Unavailable",
            "temporal_unavailable",
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["test_clock"]["frozen_time"] == "2026-07-01T00:00:00Z"
    invoices = await _invoices(sessions)
    # Six closes per subscription, once each, numbered without a gap.
    assert len(invoices) == 6 * SUBSCRIPTIONS
    assert {i.total_amount_cents for i in invoices} == {3100}
    assert [i.sequential_id for i in invoices] == list(range(1, 6 * SUBSCRIPTIONS + 1))
    periods = {(i.subscription_id, i.period_start) for i in invoices}
    assert len(periods) == len(invoices)
    # The history survived the restart in a write-ahead log (bxb's pragma): bytes 18 and 19
    # of a SQLite file's header are 2 in WAL mode, 1 with the default rollback journal.
    with temporal.db_file.open("rb") as db:
        assert db.read(20)[18:20] == b"\x02\x02"
