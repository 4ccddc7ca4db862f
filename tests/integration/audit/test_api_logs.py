"""API logs: POST/PUT/DELETE calls to /api/v1, written in batches after the answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.governance.audit.api_logs import DROPPED
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors

METRIC = {"billable_metric": {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}}


@pytest.fixture
async def app(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for c in app_client(app):
        yield c


async def _flushed(app: FastAPI) -> None:
    await app.state.api_logs.flush()


async def _api_logs(api: httpx.AsyncClient, tenant: Tenant, query: str = "") -> Any:
    answer = await api.get(f"/api/v1/api_logs{query}", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    assert lago_errors("ApiLogsPaginated", answer.json()) == []
    return answer.json()


async def test_writes_are_logged_and_reads_are_not(
    app: FastAPI, api: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    created = await api.post(
        "/api/v1/billable_metrics",
        json=METRIC,
        headers={**tenant_a.headers, "User-Agent": "lago-python-client/1.0"},
    )
    request_id = created.headers["x-request-id"]
    await api.post("/api/v1/billable_metrics", json=METRIC, headers=tenant_a.headers)  # 422
    await api.get("/api/v1/billable_metrics", headers=tenant_a.headers)
    await api.post("/api/v1/billable_metrics", json=METRIC)  # 401: no organization, no log
    await _flushed(app)

    logs = (await _api_logs(api, tenant_a))["api_logs"]
    assert [(log["http_method"], log["http_status"]) for log in logs] == [
        ("post", 422),
        ("post", 200),
    ]
    first = logs[1]
    assert first["request_path"] == "/billable_metrics"
    assert first["client"] == "lago-python-client/1.0"
    assert first["request_body"] == ""  # bodies are off by default
    assert first["request_response"] == ""
    assert first["actor"]["kind"] == "api_key"
    assert first["duration_ms"] > 0
    assert first["request_id"].replace("-", "") == request_id

    failed = (await _api_logs(api, tenant_a, "?http_statuses[]=failed"))["api_logs"]
    assert [log["http_status"] for log in failed] == [422]
    by_code = await _api_logs(api, tenant_a, "?http_statuses[]=200&http_methods[]=post")
    assert by_code["meta"]["total_count"] == 1
    assert (await _api_logs(api, tenant_a, "?request_paths=/customers"))["api_logs"] == []
    assert (await _api_logs(api, tenant_a, "?request_paths=/billable_metrics/"))["meta"][
        "total_count"
    ] == 2
    bad = await api.get("/api/v1/api_logs?http_methods[]=get", headers=tenant_a.headers)
    assert bad.status_code == 422

    one = await api.get(f"/api/v1/api_logs/{first['request_id']}", headers=tenant_a.headers)
    assert one.status_code == 200
    assert lago_errors("ApiLog", one.json()) == []
    # Another organization sees none of it.
    assert (await _api_logs(api, tenant_b))["api_logs"] == []
    hidden = await api.get(f"/api/v1/api_logs/{first['request_id']}", headers=tenant_b.headers)
    assert hidden.status_code == 404


async def test_bodies_when_the_organization_asks_with_secrets_redacted(
    app: FastAPI, api: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    on = await api.put(
        "/api/v1/organizations",
        json={"organization": {"api_log_bodies": True}},
        headers=tenant_a.headers,
    )
    assert on.status_code == 200
    assert on.json()["organization"]["api_log_bodies"] is True
    await _flushed(app)  # the writer learns the setting with its next batch
    secret_body = {**METRIC, "password": "hunter2", "api_key": {"value": "k", "name": "n"}}
    await api.post("/api/v1/billable_metrics", json=secret_body, headers=tenant_a.headers)
    await _flushed(app)
    logs = (await _api_logs(api, tenant_a, "?request_paths=/billable_metrics"))["api_logs"]
    body = json.loads(logs[0]["request_body"])
    assert body["billable_metric"]["code"] == "calls"
    assert body["password"] == "[REDACTED]"
    assert body["api_key"] == "[REDACTED]"
    response = json.loads(logs[0]["request_response"])
    assert response["billable_metric"]["code"] == "calls"


async def test_a_full_buffer_drops_and_counts_instead_of_waiting(
    app: FastAPI, api: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    app.state.api_logs.max_buffer = 1
    before = DROPPED._value.get()
    await asyncio.gather(
        *(
            api.post("/api/v1/billable_metrics", json=METRIC, headers=tenant_a.headers)
            for _ in range(3)
        )
    )
    assert DROPPED._value.get() - before >= 1
    await _flushed(app)
    assert 1 <= (await _api_logs(api, tenant_a))["meta"]["total_count"] < 3


async def test_event_ingestion_is_logged_without_an_activity(
    app: FastAPI, api: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await api.post("/api/v1/billable_metrics", json=METRIC, headers=tenant_a.headers)
    event = {"transaction_id": "t1", "external_subscription_id": "sub_1", "code": "calls"}
    answer = await api.post("/api/v1/events", json={"event": event}, headers=tenant_a.headers)
    assert answer.status_code == 200, answer.text
    await _flushed(app)
    logs = (await _api_logs(api, tenant_a))["api_logs"]
    assert [(log["request_path"], log["http_status"]) for log in logs] == [
        ("/events", 200),
        ("/billable_metrics", 200),
    ]
    activities = (await api.get("/api/v1/activity_logs", headers=tenant_a.headers)).json()
    assert [a["activity_type"] for a in activities["activity_logs"]] == ["billable_metric.created"]
