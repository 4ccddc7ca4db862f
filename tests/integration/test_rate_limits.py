"""Rate limits: the per-organization settings route, 429s in Lago's shape, one limit
shared by two API instances on one database, and lago-python-client's retry."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from lago_python_client.client import Client
from lago_python_client.models.customer import Customer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.governance.rate_limits import set_organization_limits
from bxb.governance.shared_counter import Limit, SharedCounter, batch_size
from bxb.models import Customer as CustomerRow
from bxb.models import RateLimitCounter, RateLimitOverride
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.ports import free_port


@pytest.fixture
async def limited(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the app (the auth dependency calls the limiter on every request)."""
    async for c in app_client(create_app(settings)):
        yield c


async def _set(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> httpx.Response:
    return await client.put(
        "/api/v1/rate_limits", json={"rate_limits": body}, headers=tenant.headers
    )


async def test_defaults_overrides_and_reset(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant, settings: Settings
) -> None:
    response = await client.get("/api/v1/rate_limits", headers=tenant_a.headers)
    assert response.status_code == 200
    assert response.json()["rate_limits"]["writes"] == {
        "limit": settings.rate_limit_writes,
        "period": settings.rate_limit_period,
        "customized": False,
    }

    response = await _set(client, tenant_a, {"events": {"limit": 50, "period": 1}})
    assert response.status_code == 200
    limits = response.json()["rate_limits"]
    assert limits["events"] == {"limit": 50, "period": 1, "customized": True}
    assert limits["reads"]["customized"] is False

    # Tenant B sees its defaults and cannot change A's limits.
    response = await client.get("/api/v1/rate_limits", headers=tenant_b.headers)
    assert response.json()["rate_limits"]["events"]["customized"] is False
    await _set(client, tenant_b, {"events": {"limit": 7, "period": 2}})
    response = await client.get("/api/v1/rate_limits", headers=tenant_a.headers)
    assert response.json()["rate_limits"]["events"] == {
        "limit": 50,
        "period": 1,
        "customized": True,
    }

    # null goes back to the default; classes not named stay as they are.
    response = await _set(client, tenant_a, {"events": None})
    assert response.json()["rate_limits"]["events"]["customized"] is False
    response = await client.get("/api/v1/rate_limits", headers=tenant_b.headers)
    assert response.json()["rate_limits"]["events"] == {"limit": 7, "period": 2, "customized": True}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": {"limit": 0, "period": 1}}, "events.limit"),
        ({"reads": {"limit": 10, "period": 0}}, "reads.period"),
        ({"writes": {"limit": 10}}, "writes.period"),
        ({"everything": {"limit": 10, "period": 1}}, "everything"),
    ],
)
async def test_bad_limits_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    body: dict[str, Any],
    field: str,
) -> None:
    response = await _set(client, tenant_a, body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_errors"
    assert field in response.json()["error_details"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(RateLimitOverride)) == 0


async def test_over_the_limit_is_a_lago_429(
    limited: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with transaction(sessions) as session:  # not through the API: that is a write
        await set_organization_limits(session, tenant_a.organization_id, {"writes": Limit(3, 3600)})
    statuses = []
    for n in range(5):
        body = {"customer": {"external_id": f"c-{n}", "name": "C"}}
        response = await limited.post("/api/v1/customers", json=body, headers=tenant_a.headers)
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429, 429]
    assert response.json() == {
        "status": 429,
        "error": "Too Many Requests",
        "code": "rate_limit_exceeded",
    }
    reset = int(response.headers["x-ratelimit-reset"])
    assert 1 <= reset <= 3600
    assert response.headers["retry-after"] == str(reset)
    assert response.headers["x-ratelimit-limit"] == "3"
    assert response.headers["x-ratelimit-remaining"] == "0"
    # Reads are another class: still allowed.
    response = await limited.get("/api/v1/customers", headers=tenant_a.headers)
    assert response.status_code == 200
    assert len(response.json()["customers"]) == 3


async def test_keys_are_limited_separately(
    limited: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await _set(limited, tenant_a, {"reads": {"limit": 2, "period": 3600}})
    for _ in range(2):
        assert (await limited.get("/api/v1/organizations", headers=tenant_a.headers)).is_success
    assert (await limited.get("/api/v1/organizations", headers=tenant_a.headers)).status_code == 429
    for _ in range(5):  # tenant B keeps its defaults
        assert (await limited.get("/api/v1/organizations", headers=tenant_b.headers)).is_success


async def test_two_instances_share_one_limit(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    """Two apps on one database (two API processes): the combined limit holds."""
    limit = 300
    one = create_app(settings)
    two = create_app(settings)
    async for first in app_client(one):
        async for second in app_client(two):
            await _set(first, tenant_a, {"reads": {"limit": limit, "period": 3600}})

            async def read(client: httpx.AsyncClient) -> int:
                response = await client.get("/api/v1/organizations", headers=tenant_a.headers)
                return response.status_code

            statuses: list[int] = []
            for _ in range(12):  # waves of concurrent requests across both instances
                wave = [read(first if n % 2 else second) for n in range(40)]
                statuses += await asyncio.gather(*wave)
            admitted = statuses.count(200)
            assert statuses.count(429) == len(statuses) - admitted
            # The bound of bxb.governance.shared_counter: limit + 2 × (P - 1) × batch.
            assert limit <= admitted <= limit + 2 * batch_size(limit)


async def test_lago_python_client_waits_and_retries(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    """The unmodified client meets a 429, waits `x-ratelimit-reset` seconds, succeeds."""
    port = free_port()
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes readiness only as a flag
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url) as http:
            response = await http.put(
                "/api/v1/rate_limits",
                json={"rate_limits": {"writes": {"limit": 2, "period": 2}}},
                headers=tenant_a.headers,
            )
            assert response.status_code == 200
        lago = Client(api_key=tenant_a.api_key, api_url=url)
        created = []
        loop = asyncio.get_running_loop()
        started = loop.time()
        for n in range(5):
            customer = Customer(external_id=f"retry-{n}", name=f"Retry {n}")
            created.append(await asyncio.to_thread(lago.customers.create, customer))
        elapsed = loop.time() - started
    finally:
        server.should_exit = True
        await task
    assert [c.external_id for c in created] == [f"retry-{n}" for n in range(5)]
    # 2 writes per 2 s window: 5 writes span 3 windows, so the client met a 429 and
    # waited for the next window at least once (a whole window lies between the first
    # write and the last).
    assert elapsed >= 1.5
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(CustomerRow.organization_id == tenant_a.organization_id)
        )
    assert count == 5


async def test_three_processes_overshoot_at_most_the_stated_bound(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Three counters (three API processes) on one database, each syncing in the
    background, hammered concurrently: limit ≤ admitted ≤ limit + 2 × (P - 1) × batch."""
    limit = Limit(1000, 3600)
    counters = [SharedCounter(sessions, 0.05) for _ in range(3)]
    for counter in counters:
        counter.start()
    key = uuid.uuid4()
    try:

        async def client(counter: SharedCounter) -> int:
            admitted = 0
            for _ in range(150):
                decision = await counter.hit(key, "events", limit, time.time())
                admitted += decision.allowed
                await asyncio.sleep(0)  # a served request awaits I/O
            return admitted

        per_process = await asyncio.gather(*(client(c) for c in counters for _ in range(4)))
    finally:
        for counter in counters:
            await counter.stop()
    admitted = sum(per_process)
    assert limit.limit <= admitted <= limit.limit + 2 * 2 * batch_size(limit.limit)
    async with sessions() as session:
        total = await session.scalar(
            select(func.sum(RateLimitCounter.count)).where(RateLimitCounter.key_id == key)
        )
    # Every admitted request reached the shared row (refusals decided locally do not).
    assert total is not None
    assert admitted <= total <= 1800


class CountingCounter(SharedCounter):
    """A counter that counts its exchanges with the shared row."""

    exchanges = 0

    async def _upsert(self, counts: dict[tuple[uuid.UUID, str, int], int]) -> Any:
        self.exchanges += 1
        return await super()._upsert(counts)


async def test_a_lagging_sync_costs_one_exchange_not_one_per_request(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Far from the limit, with the background sync not running at all, 32 concurrent
    clients send 3,000 requests: each time `batch` are pending, one exchange sends them
    all. (Requests used to add themselves to the shared row one by one from the first lag
    on, for as long as the concurrency lasted: one row lock per request.)"""
    limit = Limit(120_000, 3600)
    batch = batch_size(limit.limit)  # 600
    counter = CountingCounter(sessions, 3600)  # never started: every sync is a lag
    key = uuid.uuid4()

    async def client() -> int:
        admitted = 0
        for _ in range(3000 // 32):
            decision = await counter.hit(key, "events", limit, time.time())
            admitted += decision.allowed
            await asyncio.sleep(0)
        return admitted

    admitted = sum(await asyncio.gather(*(client() for _ in range(32))))
    assert admitted == 32 * (3000 // 32)
    assert counter.exchanges <= admitted // batch + 1
    await counter.stop()  # the last pending counts
    async with sessions() as session:
        total = await session.scalar(
            select(func.sum(RateLimitCounter.count)).where(RateLimitCounter.key_id == key)
        )
    assert total == admitted


class StalledSync(SharedCounter):
    """Its next exchange waits until released (a sync slow to reach PostgreSQL)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, 3600)
        self.stall_next = False
        self.release = asyncio.Event()

    async def _upsert(self, counts: dict[tuple[uuid.UUID, str, int], int]) -> Any:
        if self.stall_next:
            self.stall_next = False
            await self.release.wait()
        return await super()._upsert(counts)


async def test_a_request_never_overtakes_a_sync_carrying_earlier_requests(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Limit 2: the first request is admitted locally and its count is on its way in a
    slow sync; two more add themselves to the shared row meanwhile. One of them must be
    refused (both were admitted while the row did not hold the first yet: seen under
    load in `test_keys_are_limited_separately`)."""
    limit = Limit(2, 3600)
    counter = StalledSync(sessions)
    key = uuid.uuid4()
    first = await counter.hit(key, "reads", limit, time.time())
    assert first.allowed
    counter.stall_next = True
    sync = asyncio.create_task(counter.sync())
    await asyncio.sleep(0.05)  # the sync holds the first request's count, stalled
    later = [asyncio.create_task(counter.hit(key, "reads", limit, time.time())) for _ in "ab"]
    await asyncio.sleep(0.05)
    counter.release.set()
    await sync
    decisions = await asyncio.gather(*later)
    assert sorted(d.allowed for d in decisions) == [False, True]
    await counter.stop()
    async with sessions() as session:
        total = await session.scalar(
            select(func.sum(RateLimitCounter.count)).where(RateLimitCounter.key_id == key)
        )
    assert total == 3  # every request counted once, the refused one included
