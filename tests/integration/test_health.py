"""/health, /ready and /metrics: outside /api/v1, no key needed."""

from __future__ import annotations

import httpx


async def test_health_is_always_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_database_and_temporal_answer(temporal_client: httpx.AsyncClient) -> None:
    response = await temporal_client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "temporal": "ok"}


async def test_not_ready_while_temporal_is_down(client: httpx.AsyncClient) -> None:
    # The plain `client` points Temporal at a port where nothing listens.
    response = await client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "not_ready", "database": "ok", "temporal": "unreachable"}


async def test_deep_readiness_goes_through_the_worker(
    temporal_client: httpx.AsyncClient, worker: str
) -> None:
    response = await temporal_client.get("/ready", params={"deep": "true"})
    assert response.status_code == 200
    assert response.json()["worker"] == "ok"


async def test_deep_readiness_fails_without_a_worker(temporal_client: httpx.AsyncClient) -> None:
    response = await temporal_client.get("/ready", params={"deep": "true"})
    assert response.status_code == 503
    assert response.json()["worker"] == "unreachable"


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/organizations")
    text = (await client.get("/metrics")).text
    assert (
        'bxb_http_requests_total{method="GET",route="/api/v1/organizations",status="401"}' in text
    )
    assert "bxb_http_request_duration_seconds_bucket" in text
