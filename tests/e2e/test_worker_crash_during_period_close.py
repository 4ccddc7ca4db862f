"""A worker killed (SIGKILL) while it closes a billing period: another takes over in seconds.

The period-close activity is held in flight on purpose (the invoices table is locked, so
it waits inside its transaction), then its worker is killed. The activity heartbeats, so
Temporal notices the dead worker within the heartbeat timeout (10 s), not the start-to-close
timeout, and a second worker bills the period: once. The takeover time is measured from
the kill to the invoice's commit (issue 9's target: under 15 s).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.events.postgres_store import PostgresEventStore
from bxb.models import Invoice
from bxb.worker import build_worker
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.subscriptions import SubscriptionApi
from tests.support.worker_process import start_worker_process

pytestmark = pytest.mark.slow

TAKEOVER_TARGET = 15.0
log = logging.getLogger(__name__)


@pytest.fixture
async def api(temporal_settings: Settings, tenant_a: Tenant) -> AsyncIterator[SubscriptionApi]:
    async for client in app_client(create_app(temporal_settings)):
        yield SubscriptionApi(client, tenant_a)


async def _invoice_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Invoice)) or 0)


async def _waiting_on_a_lock(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        waiting = await conn.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        )
    return bool(waiting)


async def _until(check: Callable[[], Awaitable[bool]], seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_a_period_close_held_by_a_dead_worker_is_taken_over_within_seconds(
    api: SubscriptionApi,
    temporal_settings: Settings,
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    record_property: Callable[[str, object], None],
) -> None:
    address = temporal_env.client.service_client.config.target_host
    doomed = await start_worker_process(temporal_settings, address)
    try:
        await api.customer_on_clock("2026-01-01T00:00:00Z")
        await api.plan()
        assert (await api.subscribe()).status_code == 200
        async with engine.connect() as locker:
            transaction = await locker.begin()
            await locker.execute(text("LOCK TABLE invoices IN ACCESS EXCLUSIVE MODE"))
            advance = asyncio.create_task(api.advance("2026-02-01T00:00:00Z"))
            # The doomed worker's close_period is inside its transaction, waiting.
            await _until(lambda: _waiting_on_a_lock(engine), 60)
            queue = temporal_settings.temporal_task_queue
            events = PostgresEventStore(engine)
            async with build_worker(temporal_env.client, queue, sessions, events):
                doomed.send_signal(signal.SIGKILL)
                await doomed.wait()
                killed_at = time.monotonic()
                await transaction.rollback()
                await _until(lambda: _has_invoice(sessions), 60)
                taken_over = time.monotonic() - killed_at
                answer: httpx.Response = await advance
                answered = time.monotonic() - killed_at
    finally:
        if doomed.returncode is None:
            doomed.kill()
            await doomed.wait()
    record_property("takeover_seconds", round(taken_over, 1))
    log.info("after SIGKILL: invoice in %.1f s, advance answered in %.1f s", taken_over, answered)
    assert answer.status_code == 200, answer.text
    assert taken_over < TAKEOVER_TARGET
    async with sessions() as session:
        totals = list(await session.scalars(select(Invoice.total_amount_cents)))
    assert totals == [3100]  # billed once


async def _has_invoice(sessions: async_sessionmaker[AsyncSession]) -> bool:
    return await _invoice_count(sessions) > 0
