"""Server errors over real HTTP (uvicorn, one kept-alive connection): every 500 is a
complete answer on a connection that stays usable, and a service that is down is a 503."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI, Request

from bxb.api.app import create_app
from bxb.core.db import create_engine, create_sessionmaker, transaction
from bxb.core.embedded import EmbeddedPostgres
from bxb.core.migrate import upgrade
from bxb.core.organizations import create_organization
from bxb.core.settings import Settings
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.ports import free_port

INTERNAL = {"status": 500, "error": "Internal Server Error"}


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """app behind uvicorn on a loopback port, on this event loop."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes readiness only as a flag
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _app_with_failures(settings: Settings) -> FastAPI:
    app = create_app(settings)

    @app.get("/test/port")
    async def client_port(request: Request) -> int:
        assert request.client is not None
        return request.client.port

    @app.get("/test/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    return app


async def test_after_a_500_the_kept_alive_connection_serves_the_next_request(
    settings: Settings,
) -> None:
    async with (
        served(_app_with_failures(settings)) as url,
        httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=1)) as http,
    ):
        port = (await http.get("/test/port")).json()
        for _ in range(3):
            boom = await http.get("/test/boom")
            assert (boom.status_code, boom.json()) == (500, INTERNAL)
            assert boom.headers["content-length"] == str(len(boom.content))
            assert "close" not in boom.headers.get("connection", "")
            # The same connection (same client port) answers next: it was not dropped.
            assert (await http.get("/test/port")).json() == port


async def test_temporal_unreachable_is_503(settings: Settings, tenant_a: Tenant) -> None:
    # The test settings point Temporal at a port where nothing listens.
    async for client in app_client(create_app(settings)):
        plan = {
            "name": "P",
            "code": "p",
            "interval": "monthly",
            "amount_cents": 100,
            "amount_currency": "USD",
        }
        await client.post("/api/v1/plans", json={"plan": plan}, headers=tenant_a.headers)
        customer = {"external_id": "c1", "currency": "USD"}
        await client.post(
            "/api/v1/customers", json={"customer": customer}, headers=tenant_a.headers
        )
        body = {
            "subscription": {"external_customer_id": "c1", "plan_code": "p", "external_id": "s"}
        }
        response = await client.post("/api/v1/subscriptions", json=body, headers=tenant_a.headers)
    assert response.status_code == 503, response.text
    assert response.json() == {
        "status": 503,
        "error": "Service Unavailable",
        "code": "temporal_unavailable",
    }
    assert response.headers["retry-after"] == "1"


async def _tenant_on(url: str) -> Tenant:
    engine = create_engine(url, pool_size=1)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            org, issued = await create_organization(session, "Org")
    finally:
        await engine.dispose()
    return Tenant(org.id, "Org", issued.plaintext)


async def test_postgresql_down_is_503_and_the_api_recovers_when_it_is_back(
    settings: Settings, tmp_path: Path
) -> None:
    postgres = EmbeddedPostgres(tmp_path / "pg", free_port(), durable=False)
    await postgres.start()
    try:
        await upgrade(postgres.url)
        tenant = await _tenant_on(postgres.url)
        own = settings.model_copy(update={"database_url": postgres.url})
        async with (
            served(create_app(own)) as url,
            httpx.AsyncClient(base_url=url, headers=tenant.headers, timeout=30) as http,
        ):
            event = {"transaction_id": "t1", "external_subscription_id": "s", "code": "c"}
            assert (await http.get("/api/v1/customers")).status_code == 200

            await asyncio.to_thread(postgres.stop)
            down = {"status": 503, "error": "Service Unavailable", "code": "database_unavailable"}
            for request in (
                http.build_request("GET", "/api/v1/customers"),
                http.build_request("POST", "/api/v1/events", json={"event": event}),
            ):
                response = await http.send(request)
                assert (response.status_code, response.json()) == (503, down), request.url
                assert response.headers["retry-after"] == "1"

            await postgres.start()
            deadline = time.monotonic() + 60
            while (status := (await http.get("/api/v1/customers")).status_code) != 200:
                assert status == 503
                assert time.monotonic() < deadline, "the API did not recover"
                await asyncio.sleep(0.1)
            # The event is read against the metrics again: none is named "c".
            recovered = await http.post("/api/v1/events", json={"event": event})
            assert recovered.status_code == 422, recovered.text
    finally:
        postgres.stop()
