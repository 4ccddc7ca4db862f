"""Billable metric expressions: validated on save, computed at ingestion on both event
stores, and evaluated on a sample by POST /billable_metrics/evaluate_expression."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.billable_metric import (
    BillableMetricEvaluateExpression,
    BillableMetricEvaluateExpressionEvent,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.events.clickhouse_store import ClickHouseEventStore
from bxb.events.postgres_store import PostgresEventStore
from bxb.events.store import EventStore
from tests.conftest import app_client
from tests.integration.test_event_stores import CHDB_URL, clickhouse_store  # noqa: F401
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors

URL = "/api/v1/billable_metrics"
EVALUATE = f"{URL}/evaluate_expression"
HOURS = "round((event.properties.ended_at - event.timestamp) / 3600, 1)"
T0 = 1_735_732_800  # 2025-01-01T12:00:00Z


def metric(**overrides: Any) -> dict[str, Any]:
    return {
        "billable_metric": {
            "name": "Compute",
            "code": "compute",
            "aggregation_type": "sum_agg",
            "field_name": "hours",
            "expression": HOURS,
            "rounding_function": "ceil",
            "rounding_precision": 0,
        }
        | overrides
    }


def event(transaction_id: str, ended_after_seconds: int) -> dict[str, Any]:
    return {
        "transaction_id": transaction_id,
        "external_subscription_id": "sub-1",
        "code": "compute",
        "timestamp": T0,
        "properties": {"ended_at": T0 + ended_after_seconds, "region": "eu"},
    }


async def test_metric_with_expression_conforms_and_bad_expressions_are_refused(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    created = await client.post(URL, json=metric(), headers=tenant_a.headers)
    assert created.status_code == 200
    body = created.json()
    assert lago_errors("BillableMetric", body) == []
    assert body["billable_metric"]["expression"] == HOURS
    assert body["billable_metric"]["rounding_function"] == "ceil"

    bad = await client.post(
        URL, json=metric(code="other", expression="hours * 2"), headers=tenant_a.headers
    )
    assert bad.status_code == 422
    assert bad.json()["error_details"] == {"expression": ["invalid_expression"]}
    listed = await client.get(URL, headers=tenant_a.headers)
    assert [m["code"] for m in listed.json()["billable_metrics"]] == ["compute"]

    update = await client.put(
        f"{URL}/compute",
        json={"billable_metric": {"expression": "round(event.properties.x"}},
        headers=tenant_a.headers,
    )
    assert update.status_code == 422
    assert update.json()["error_details"] == {"expression": ["invalid_expression"]}
    shown = await client.get(f"{URL}/compute", headers=tenant_a.headers)
    assert shown.json()["billable_metric"]["expression"] == HOURS

    bad_rounding = await client.put(
        f"{URL}/compute",
        json={"billable_metric": {"rounding_function": "truncate"}},
        headers=tenant_a.headers,
    )
    assert bad_rounding.status_code == 422
    assert bad_rounding.json()["error_details"] == {"rounding_function": ["value_is_invalid"]}


async def _ingest_and_read(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (await client.post(URL, json=metric(), headers=tenant.headers)).status_code == 200
    one = await client.post(
        "/api/v1/events", json={"event": event("e-1", 5400)}, headers=tenant.headers
    )
    assert one.status_code == 200, one.text
    # The computed value is stored in the field, as Lago's BigDecimal text.
    assert one.json()["event"]["properties"] == {
        "ended_at": T0 + 5400,
        "region": "eu",
        "hours": "1.5",
    }
    batch = await client.post(
        "/api/v1/events/batch",
        json={"events": [event("e-2", 720), event("e-3", 3600)]},
        headers=tenant.headers,
    )
    assert batch.status_code == 200
    got = await client.get("/api/v1/events/e-2", headers=tenant.headers)
    assert got.json()["event"]["properties"]["hours"] == "0.2"
    # An event the expression cannot be computed on is refused, nothing stored.
    missing = {**event("e-4", 0), "properties": {"region": "eu"}}
    refused = await client.post("/api/v1/events", json={"event": missing}, headers=tenant.headers)
    assert refused.status_code == 422
    assert refused.json()["error_details"] == {"properties": ["expression_evaluation_failed"]}
    assert (await client.get("/api/v1/events/e-4", headers=tenant.headers)).status_code == 404


async def _total(store: EventStore, tenant: Tenant) -> Decimal:
    result = await store.aggregate(
        tenant.organization_id,
        "sub-1",
        "compute",
        "sum_agg",
        "hours",
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(2025, 1, 2, tzinfo=UTC),
    )
    return result.value


async def test_expression_is_computed_at_ingestion_on_postgres(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _ingest_and_read(client, tenant_a)
    store = PostgresEventStore(sessions.kw["bind"])
    try:
        assert await _total(store, tenant_a) == Decimal("2.7")  # 1.5 + 0.2 + 1.0
    finally:
        await store.close()


async def test_expression_is_computed_at_ingestion_on_clickhouse(
    settings: Settings,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    clickhouse_store: ClickHouseEventStore,  # noqa: F811
) -> None:
    chdb = settings.model_copy(update={"clickhouse_url": CHDB_URL})
    try:
        async for client in app_client(create_app(chdb)):
            await _ingest_and_read(client, tenant_a)
        assert await _total(clickhouse_store, tenant_a) == Decimal("2.7")
    finally:
        await clickhouse_store.truncate()


async def test_evaluate_expression(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    answer = await client.post(
        EVALUATE,
        json={
            "expression": "round((event.properties.ended_at - event.timestamp) / 3600)",
            "event": {
                "code": "compute",
                "timestamp": "1651240791",
                "properties": {"ended_at": 1651251591},
            },
        },
        headers=tenant_a.headers,
    )
    assert answer.status_code == 200
    assert answer.json() == {"expression_result": {"value": "3.0"}}
    assert lago_errors("BillableMetricEvaluateExpressionResult", answer.json()) == []

    text = await client.post(
        EVALUATE,
        json={
            "expression": "concat(event.code, '/', event.properties.region)",
            "event": {"code": "c", "properties": {"region": "eu"}},
        },
        headers=tenant_a.headers,
    )
    assert text.json() == {"expression_result": {"value": "c/eu"}}


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"event": {"code": "c", "properties": {}}}, {"expression": ["value_is_mandatory"]}),
        (
            {"expression": "1 +", "event": {"properties": {}}},
            {"expression": ["invalid_expression"]},
        ),
        (
            {"expression": "event.properties.gb * 2", "event": {"properties": {}}},
            {"event": ["invalid_event"]},
        ),
        (
            {"expression": "event.properties.gb * 2", "event": {"properties": {"gb": "lots"}}},
            {"event": ["invalid_event"]},
        ),
        (
            {"expression": "event.timestamp", "event": {"timestamp": "soon", "properties": {}}},
            {"event": ["invalid_event"]},
        ),
    ],
)
async def test_evaluate_expression_refuses_bad_input(
    client: httpx.AsyncClient, tenant_a: Tenant, body: dict[str, Any], details: dict[str, list[str]]
) -> None:
    answer = await client.post(EVALUATE, json=body, headers=tenant_a.headers)
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_errors"
    assert answer.json()["error_details"] == details


async def test_evaluate_expression_needs_a_key_and_stores_nothing(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    unauthenticated = await client.post(EVALUATE, json={"expression": "1", "event": {}})
    assert unauthenticated.status_code == 401
    # Organization-free: each tenant gets the same answer, and no metric appears.
    for tenant in (tenant_a, tenant_b):
        answer = await client.post(
            EVALUATE, json={"expression": "1 + 1", "event": {}}, headers=tenant.headers
        )
        assert answer.json() == {"expression_result": {"value": "2.0"}}
        listed = await client.get(URL, headers=tenant.headers)
        assert listed.json()["billable_metrics"] == []


async def test_lago_client_evaluate_expression(live_api: str, tenant_a: Tenant) -> None:
    """lago-python-client 1.x posts this route without its body, so Lago's own server (and
    bxb) answer that the expression is missing; the method still reaches the route."""
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    request = BillableMetricEvaluateExpression(
        expression="1 + 1",
        event=BillableMetricEvaluateExpressionEvent(code="c", timestamp=T0, properties={}),
    )
    with pytest.raises(LagoApiError) as raised:
        await asyncio.to_thread(lago.billable_metrics.evaluate_expression, request)
    assert raised.value.status_code == 422
    assert raised.value.response["error_details"] == {"expression": ["value_is_mandatory"]}
