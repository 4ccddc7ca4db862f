"""POST /events/estimate_fees, /estimate_instant_fees and /batch_estimate_instant_fees:
amounts to the cent, Lago's shapes, nothing stored, 404 and 422, isolation, the client.

Catalog: `storage` (sum of `gb`, filter region eu/us) with an in-advance standard charge
($2 a GB, $3 in eu) and an in-advance percentage charge (1.5 % + $0.10, at most $5);
`calls` (count) with an in-advance graduated charge ($1 for the first 10, then $0.50);
`seats` (count) billed in arrears. 20 % VAT on the plan.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.event import Event as EventInput
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bxb.api import fee_estimates
from bxb.core.subscriptions import plan_snapshot
from bxb.core.temporal import TemporalConnector
from bxb.events.postgres_store import PostgresEventStore
from bxb.models import Event, Fee, Invoice, Plan, Subscription
from bxb.usage_reactions.context import UsageContext
from bxb.usage_reactions.estimates import estimate_fees
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors
from tests.support.plan_catalog import ok, subscription_on

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 15, tzinfo=UTC)


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


async def _metric(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> str:
    made = await ok(client, tenant, "POST", "/api/v1/billable_metrics", {"billable_metric": body})
    lago_id: str = made["billable_metric"]["lago_id"]
    return lago_id


async def seed(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> dict[str, Any]:
    storage = await _metric(
        client,
        tenant,
        {
            "name": "Storage",
            "code": "storage",
            "aggregation_type": "sum_agg",
            "field_name": "gb",
            "filters": [{"key": "region", "values": ["eu", "us"]}],
        },
    )
    calls = await _metric(
        client, tenant, {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}
    )
    seats = await _metric(
        client, tenant, {"name": "Seats", "code": "seats", "aggregation_type": "count_agg"}
    )
    await ok(
        client,
        tenant,
        "POST",
        "/api/v1/taxes",
        {"tax": {"name": "VAT", "code": "vat", "rate": "20"}},
    )
    plan = {
        "name": "Pro",
        "code": "pro",
        "interval": "monthly",
        "amount_cents": 0,
        "amount_currency": "USD",
        "tax_codes": ["vat"],
        "charges": [
            {
                "billable_metric_id": storage,
                "code": "storage_std",
                "charge_model": "standard",
                "pay_in_advance": True,
                "invoiceable": False,
                "properties": {"amount": "2"},
                "filters": [
                    {
                        "values": {"region": ["eu"]},
                        "properties": {"amount": "3"},
                        "invoice_display_name": "Europe",
                    }
                ],
            },
            {
                "billable_metric_id": storage,
                "code": "storage_pct",
                "charge_model": "percentage",
                "pay_in_advance": True,
                "invoiceable": False,
                "properties": {
                    "rate": "1.5",
                    "fixed_amount": "0.10",
                    "per_transaction_max_amount": "5",
                },
            },
            {
                "billable_metric_id": calls,
                "code": "calls",
                "charge_model": "graduated",
                "pay_in_advance": True,
                "invoiceable": False,
                "properties": {
                    "graduated_ranges": [
                        {
                            "from_value": 0,
                            "to_value": 10,
                            "per_unit_amount": "1",
                            "flat_amount": "0",
                        },
                        {
                            "from_value": 11,
                            "to_value": None,
                            "per_unit_amount": "0.5",
                            "flat_amount": "0",
                        },
                    ]
                },
            },
            {
                "billable_metric_id": seats,
                "code": "seats",
                "charge_model": "standard",
                "properties": {"amount": "9"},
            },
        ],
    }
    made = await ok(client, tenant, "POST", "/api/v1/plans", {"plan": plan})
    await subscription_on(client, sessions, tenant, uuid.UUID(made["plan"]["lago_id"]))
    created: dict[str, Any] = made["plan"]
    return created


async def _stored_counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    async with sessions() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(Fee)) or 0),
            int(await session.scalar(select(func.count()).select_from(Invoice)) or 0),
            int(await session.scalar(select(func.count()).select_from(Event)) or 0),
        )


async def _post(client: httpx.AsyncClient, tenant: Tenant, route: str, body: Any) -> httpx.Response:
    return await client.post(f"/api/v1/events/{route}", json=body, headers=tenant.headers)


def _event(code: str, **properties: Any) -> dict[str, Any]:
    return {"code": code, "external_subscription_id": "sub_9", "properties": properties}


async def test_instant_estimates_price_the_event_alone(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    plan = await seed(client, sessions, tenant_a)
    charges = {c["code"]: c for c in plan["charges"]}
    before = await _stored_counts(sessions)

    response = await _post(
        client,
        tenant_a,
        "estimate_instant_fees",
        {"event": {**_event("storage", gb=7, region="eu"), "transaction_id": "tx_1"}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert lago_errors("FeesEstimate", body) == []
    standard, percentage = body["fees"]
    # Europe's filter: 7 GB x $3 = $21.00 ($3.00 a unit, in cents as Lago shows it).
    assert standard["lago_charge_id"] == charges["storage_std"]["lago_id"]
    assert standard["lago_charge_filter_id"] is not None
    assert (standard["amount_cents"], standard["units"], standard["precise_unit_amount"]) == (
        2100,
        "7",
        300.0,
    )
    assert standard["item"]["filter_invoice_display_name"] == "Europe"
    assert standard["event_transaction_id"] == "tx_1"
    assert (standard["lago_id"], standard["invoiceable"], standard["taxes_amount_cents"]) == (
        None,
        False,
        0,
    )
    # 1.5 % of 7 + $0.10 = $0.205: 21 cents (half-up).
    assert (percentage["amount_cents"], percentage["precise_amount"]) == (21, 0.205)

    batch = await _post(
        client,
        tenant_a,
        "batch_estimate_instant_fees",
        {
            "events": [
                _event("storage", gb=1000),  # $2 000; 1.5 % = $15.10, held to $5
                _event("storage", gb=-3),  # nothing
                _event("calls"),  # graduated: no instant estimate
            ]
        },
    )
    assert batch.status_code == 200, batch.text
    assert lago_errors("FeesEstimate", batch.json()) == []
    assert [f["amount_cents"] for f in batch.json()["fees"]] == [200_000, 500, 0, 0]
    assert [f["lago_charge_filter_id"] for f in batch.json()["fees"]] == [None] * 4
    # A batch of metrics without an estimable charge gives nothing (Lago), not a 422.
    nothing = await _post(
        client, tenant_a, "batch_estimate_instant_fees", {"events": [_event("seats")]}
    )
    assert (nothing.status_code, nothing.json()) == (200, {"fees": []})
    assert await _stored_counts(sessions) == before  # stored nothing


async def test_estimate_fees_prices_one_more_event_after_the_period_so_far(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seed(client, sessions, tenant_a)
    for index in range(10):  # ten calls this period: the next one is at $0.50
        event = {
            "transaction_id": f"call_{index}",
            "external_subscription_id": "sub_9",
            "code": "calls",
            "timestamp": int(datetime(2026, 1, 10, tzinfo=UTC).timestamp()) + index,
        }
        await ok(client, tenant_a, "POST", "/api/v1/events", {"event": event})
    context = await _context(sessions, tenant_a)
    row_id = context.subscription_id
    store = PostgresEventStore(engine)
    [fee] = await estimate_fees(sessions, store, context, "calls", {})
    assert (fee.amount_cents, fee.taxes_amount_cents, fee.units) == (50, 10, Decimal(1))
    # At the period's first instant no event came before: the first call, at $1.
    at_start = context.model_copy(update={"now": START})
    [first] = await estimate_fees(sessions, store, at_start, "calls", {})
    assert (first.amount_cents, first.taxes_amount_cents) == (100, 20)

    # Through the route (the workflow's context stands in for the live one).
    _stand_in(monkeypatch, context)
    before = await _stored_counts(sessions)
    response = await _post(client, tenant_a, "estimate_fees", {"event": _event("calls")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert lago_errors("Fees", body) == []
    [shown] = body["fees"]
    assert (shown["lago_id"], shown["amount_cents"], shown["taxes_amount_cents"]) == (None, 50, 10)
    assert (shown["total_amount_cents"], shown["pay_in_advance"], shown["invoiceable"]) == (
        60,
        True,
        False,
    )
    assert shown["lago_subscription_id"] == str(row_id)
    assert shown["external_customer_id"] == "cus_9"
    storage = await _post(client, tenant_a, "estimate_fees", {"event": _event("storage", gb=2)})
    # Two charges on storage: $2 x 2 = $4.00; 1.5 % x 2 + $0.10 = $0.13 (each taxed 20 %).
    assert [(f["amount_cents"], f["taxes_amount_cents"]) for f in storage.json()["fees"]] == [
        (400, 80),
        (13, 3),
    ]
    assert await _stored_counts(sessions) == before


async def _context(sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> UsageContext:
    """The subscription as its workflow would see it on NOW (January's period)."""
    async with sessions() as session:
        row = await session.scalar(select(Subscription))
        assert row is not None
        plan = await session.get(Plan, row.plan_id)
        assert plan is not None
        snapshot = plan_snapshot(plan)
    return UsageContext(
        organization_id=tenant.organization_id,
        customer_id=row.customer_id,
        external_customer_id="cus_9",
        external_id="sub_9",
        subscription_id=row.id,
        timezone="UTC",
        currency="USD",
        plan=snapshot,
        period_start=START,
        period_end=END,
        usage_from=START,
        now=NOW,
    )


def _stand_in(monkeypatch: pytest.MonkeyPatch, context: UsageContext) -> None:
    async def context_of(*_: Any, **__: Any) -> UsageContext:
        return context

    async def no_client(*_: Any) -> object:
        return object()

    monkeypatch.setattr(fee_estimates, "live_context", context_of)
    monkeypatch.setattr(TemporalConnector, "client", no_client)


async def test_bad_input_unknown_subscriptions_and_other_organizations(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    await seed(client, sessions, tenant_a)
    before = await _stored_counts(sessions)
    for route in ("estimate_fees", "estimate_instant_fees"):
        for body, details in [
            ({"event": {"external_subscription_id": "sub_9"}}, "code"),
            ({"event": {"code": "calls"}}, "external_subscription_id"),
            ({"event": {**_event("storage"), "properties": "big"}}, "properties"),
            ({}, "event"),
        ]:
            response = await _post(client, tenant_a, route, body)
            assert response.status_code == 422, (route, body, response.text)
            assert response.json()["code"] == "validation_errors"
            assert details in response.json()["error_details"], response.json()
        not_instant = await _post(client, tenant_a, route, {"event": _event("seats")})
        assert (not_instant.status_code, not_instant.json()["error_details"]) == (
            422,
            {"code": ["does_not_match_an_instant_charge"]},
        )
        not_a_number = await _post(client, tenant_a, route, {"event": _event("storage", gb="lots")})
        if route == "estimate_instant_fees":
            assert (not_a_number.status_code, not_a_number.json()["error_details"]) == (
                422,
                {"properties": ["value_is_invalid"]},
            )
        for tenant, external_id in ((tenant_b, "sub_9"), (tenant_a, "nope")):
            event = {**_event("storage", gb=1), "external_subscription_id": external_id}
            missing = await _post(client, tenant, route, {"event": event})
            assert (missing.status_code, missing.json()["code"]) == (
                404,
                "subscription_not_found",
            )
    instant_only = await _post(
        client, tenant_a, "estimate_instant_fees", {"event": _event("calls")}
    )
    assert instant_only.json()["error_details"] == {"code": ["does_not_match_an_instant_charge"]}
    too_many = await _post(
        client,
        tenant_a,
        "batch_estimate_instant_fees",
        {"events": [_event("storage", gb=1)] * 101},
    )
    assert too_many.status_code == 422
    empty = await _post(client, tenant_a, "batch_estimate_instant_fees", {"events": []})
    assert empty.status_code == 422
    other = await _post(
        client, tenant_b, "batch_estimate_instant_fees", {"events": [_event("storage", gb=1)]}
    )
    assert (other.status_code, other.json()["code"]) == (404, "subscription_not_found")
    assert await _stored_counts(sessions) == before


async def test_the_lago_client_estimates_fees(
    live_api: str,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seed(client, sessions, tenant_a)
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    with pytest.raises(LagoApiError) as refused:  # an arrears charge: nothing to estimate
        await call(
            lago.events.estimate_fees,
            EventInput(code="seats", external_subscription_id="sub_9", transaction_id="t"),
        )
    assert refused.value.status_code == 422
    _stand_in(monkeypatch, await _context(sessions, tenant_a))
    estimated = await call(
        lago.events.estimate_fees,
        EventInput(code="calls", external_subscription_id="sub_9", transaction_id="t"),
    )
    [fee] = estimated["fees"]
    assert (fee.lago_id, fee.amount_cents, fee.taxes_amount_cents) == (None, 100, 20)
