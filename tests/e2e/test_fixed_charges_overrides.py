"""Fixed charges and plan overrides billed through real Temporal with a test clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload
from temporalio.testing import WorkflowEnvironment

from bxb.models import Invoice
from bxb.workflows.subscription import workflow_id
from tests.support.auth import Tenant
from tests.support.histories import record_histories
from tests.support.lago_schema import lago_errors

pytestmark = pytest.mark.slow


class Api:
    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client = client
        self.headers = tenant.headers
        self.clock = ""

    async def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.client.request(method, path, json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def customer_on_clock(self, frozen: str) -> None:
        clock = await self.ok(
            "POST", "/api/v1/test_clocks", {"test_clock": {"name": "c", "frozen_time": frozen}}
        )
        self.clock = clock["test_clock"]["lago_id"]
        body = {"external_id": "cus_1", "test_clock_id": self.clock}
        await self.ok("POST", "/api/v1/customers", {"customer": body})

    async def advance(self, to: str) -> None:
        path = f"/api/v1/test_clocks/{self.clock}/advance"
        await self.ok("POST", path, {"test_clock": {"frozen_time": to}})


async def _invoices(sessions: async_sessionmaker[AsyncSession]) -> list[Invoice]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Invoice).options(selectinload(Invoice.fees)).order_by(Invoice.sequential_id)
            )
        )


def _fees(invoice: Invoice) -> list[tuple[str, str, int]]:
    return sorted((fee.fee_type, fee.item_code, fee.amount_cents) for fee in invoice.fees)


async def test_fixed_charges_in_advance_and_prorated_in_arrears(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = Api(temporal_client, tenant_a)
    await api.customer_on_clock("2026-01-10T00:00:00Z")
    for code in ("seat", "support"):
        add_on = {"name": code.title(), "code": code, "amount_cents": 0, "amount_currency": "USD"}
        await api.ok("POST", "/api/v1/add_ons", {"add_on": add_on})
    plan = {
        "name": "Team",
        "code": "team",
        "interval": "monthly",
        "amount_cents": 3100,
        "amount_currency": "USD",
    }
    await api.ok("POST", "/api/v1/plans", {"plan": plan})
    seats = {
        "add_on_code": "seat",
        "charge_model": "standard",
        "units": 3,
        "pay_in_advance": True,
        "properties": {"amount": "12.50"},
    }
    support = {
        "add_on_code": "support",
        "charge_model": "standard",
        "units": 2,
        "prorated": True,
        "properties": {"amount": "31"},
    }
    for body in (seats, support):
        await api.ok("POST", "/api/v1/plans/team/fixed_charges", {"fixed_charge": body})
    subscription = {"external_customer_id": "cus_1", "plan_code": "team", "external_id": "sub_1"}
    await api.ok("POST", "/api/v1/subscriptions", {"subscription": subscription})
    await api.advance("2026-02-01T00:00:00Z")

    start, february = await _invoices(sessions)
    # Start (Jan 10): the seats, paid in advance and not prorated: 3 × $12.50 = $37.50.
    assert _fees(start) == [("fixed_charge", "seat", 3750)]
    # Feb 1: the plan for Jan 10–31 in arrears, 22/31 × $31 = $22.00; support prorated in
    # arrears: 2 × 22/31 = 1.419355 units (six places) × $31 = $44.000005 → $44.00;
    # February's seats in advance, $37.50.
    assert _fees(february) == [
        ("fixed_charge", "seat", 3750),
        ("fixed_charge", "support", 4400),
        ("subscription", "team", 2200),
    ]
    assert february.total_amount_cents == 2200 + 4400 + 3750
    invoice = await api.ok("GET", f"/api/v1/invoices/{february.id}")
    fixed = [f for f in invoice["invoice"]["fees"] if f["item"]["type"] == "fixed_charge"]
    by_code = {f["item"]["code"]: f for f in fixed}
    assert by_code["support"]["units"] == "1.419355"
    assert by_code["support"]["pay_in_advance"] is False
    assert by_code["seat"]["pay_in_advance"] is True
    assert by_code["seat"]["item"]["item_type"] == "AddOn"
    assert by_code["seat"]["lago_fixed_charge_id"] is not None
    for fee in fixed:
        assert lago_errors("FeeObject", fee) == []


async def test_plan_overrides_bill_the_overridden_prices(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = Api(temporal_client, tenant_a)
    await api.customer_on_clock("2026-03-01T00:00:00Z")
    metric = await api.ok(
        "POST",
        "/api/v1/billable_metrics",
        {"billable_metric": {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}},
    )
    add_on = {"name": "Seat", "code": "seat", "amount_cents": 0, "amount_currency": "USD"}
    await api.ok("POST", "/api/v1/add_ons", {"add_on": add_on})
    plan = {
        "name": "Pro",
        "code": "pro",
        "interval": "monthly",
        "amount_cents": 5000,
        "amount_currency": "USD",
        "charges": [
            {
                "billable_metric_id": metric["billable_metric"]["lago_id"],
                "charge_model": "standard",
                "properties": {"amount": "1"},
            }
        ],
    }
    created = (await api.ok("POST", "/api/v1/plans", {"plan": plan}))["plan"]
    seat = {
        "add_on_code": "seat",
        "charge_model": "standard",
        "units": 1,
        "pay_in_advance": True,
        "properties": {"amount": "10"},
    }
    fixed = await api.ok("POST", "/api/v1/plans/pro/fixed_charges", {"fixed_charge": seat})
    overrides = {
        "amount_cents": 8000,
        "name": "Pro (negotiated)",
        "charges": [{"id": created["charges"][0]["lago_id"], "properties": {"amount": "0.25"}}],
        "fixed_charges": [{"id": fixed["fixed_charge"]["lago_id"], "units": 4}],
    }
    subscription = {
        "external_customer_id": "cus_1",
        "plan_code": "pro",
        "external_id": "sub_1",
        "plan_overrides": overrides,
    }
    await api.ok("POST", "/api/v1/subscriptions", {"subscription": subscription})
    for n in range(10):
        event = {
            "transaction_id": f"call_{n}",
            "external_subscription_id": "sub_1",
            "code": "calls",
            "timestamp": int(datetime(2026, 3, 5 + n, 9, tzinfo=UTC).timestamp()),
        }
        await api.ok("POST", "/api/v1/events", {"event": event})
    await api.advance("2026-04-01T00:00:00Z")

    start, april = await _invoices(sessions)
    # Start: the overridden 4 seats × $10, in advance.
    assert _fees(start) == [("fixed_charge", "seat", 4000)]
    # April 1: the overridden $80.00 for March, 10 calls × $0.25 = $2.50, April's seats.
    assert _fees(april) == [
        ("charge", "calls", 250),
        ("fixed_charge", "seat", 4000),
        ("subscription", "pro", 8000),
    ]
    assert april.total_amount_cents == 12250
    # The plan itself is unchanged, and its copy is no plan of the catalog.
    parent = (await api.ok("GET", "/api/v1/plans/pro"))["plan"]
    assert parent["amount_cents"] == 5000
    assert parent["charges"][0]["properties"] == {"amount": "1"}
    assert parent["fixed_charges"][0]["units"] == 1.0
    assert [p["code"] for p in (await api.ok("GET", "/api/v1/plans"))["plans"]] == ["pro"]
    # The subscription's own charges are the overridden copies, children of the plan's.
    charges = (await api.ok("GET", "/api/v1/subscriptions/sub_1/charges"))["charges"]
    assert [(c["properties"], c["lago_parent_id"]) for c in charges] == [
        ({"amount": "0.25"}, created["charges"][0]["lago_id"])
    ]
    fixed_charges = await api.ok("GET", "/api/v1/subscriptions/sub_1/fixed_charges")
    assert [f["units"] for f in fixed_charges["fixed_charges"]] == [4.0]


async def test_cascade_updates_reach_a_running_subscription_at_its_next_period(
    temporal_client: httpx.AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = Api(temporal_client, tenant_a)
    await api.customer_on_clock("2026-03-01T00:00:00Z")
    metric = await api.ok(
        "POST",
        "/api/v1/billable_metrics",
        {"billable_metric": {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}},
    )
    add_on = {"name": "Seat", "code": "seat", "amount_cents": 0, "amount_currency": "USD"}
    await api.ok("POST", "/api/v1/add_ons", {"add_on": add_on})
    plan = {
        "name": "Pro",
        "code": "pro",
        "interval": "monthly",
        "amount_cents": 5000,
        "amount_currency": "USD",
        "charges": [
            {
                "billable_metric_id": metric["billable_metric"]["lago_id"],
                "code": "calls",
                "charge_model": "standard",
                "properties": {"amount": "1"},
            }
        ],
    }
    await api.ok("POST", "/api/v1/plans", {"plan": plan})
    seat = {
        "add_on_code": "seat",
        "charge_model": "standard",
        "units": 1,
        "pay_in_advance": True,
        "properties": {"amount": "10"},
    }
    await api.ok("POST", "/api/v1/plans/pro/fixed_charges", {"fixed_charge": seat})
    subscription = {"external_customer_id": "cus_1", "plan_code": "pro", "external_id": "sub_1"}
    await api.ok("POST", "/api/v1/subscriptions", {"subscription": subscription})

    async def calls(day: datetime, count: int, prefix: str) -> None:
        for n in range(count):
            event = {
                "transaction_id": f"{prefix}_{n}",
                "external_subscription_id": "sub_1",
                "code": "calls",
                "timestamp": int(day.timestamp()) + n,
            }
            await api.ok("POST", "/api/v1/events", {"event": event})

    await calls(datetime(2026, 3, 10, tzinfo=UTC), 2, "march")
    # Mid-March, with cascade_updates: $2 a call and 3 seats, from the next period on.
    change = {"charge": {"properties": {"amount": "2"}, "cascade_updates": True}}
    await api.ok("PUT", "/api/v1/plans/pro/charges/calls", change)
    more_seats = {"fixed_charge": {"units": 3, "cascade_updates": True}}
    await api.ok("PUT", "/api/v1/plans/pro/fixed_charges/seat", more_seats)
    # Without cascade_updates, a change never reaches the running subscription.
    quiet = {"charge": {"properties": {"amount": "7"}}}
    await api.ok("PUT", "/api/v1/plans/pro/charges/calls", quiet)
    await api.advance("2026-04-01T00:00:00Z")
    await calls(datetime(2026, 4, 10, tzinfo=UTC), 3, "april")
    await api.advance("2026-05-01T00:00:00Z")

    start, april, may = await _invoices(sessions)
    assert _fees(start) == [("fixed_charge", "seat", 1000)]
    # March at the prices it began with (2 calls × $1); April's 3 seats × $10 in advance.
    assert _fees(april) == [
        ("charge", "calls", 200),
        ("fixed_charge", "seat", 3000),
        ("subscription", "pro", 5000),
    ]
    # April at the cascaded price: 3 calls × $2 (not $7); May's seats.
    assert _fees(may) == [
        ("charge", "calls", 600),
        ("fixed_charge", "seat", 3000),
        ("subscription", "pro", 5000),
    ]
    assert (april.total_amount_cents, may.total_amount_cents) == (8200, 8600)
    if os.environ.get("BXB_RECORD_HISTORY"):  # the replay test's fixed charges and refresh
        wf_id = workflow_id(tenant_a.organization_id, "sub_1")
        await record_histories(temporal_env.client, wf_id, "subscription_fixed_charges")


async def test_overriding_a_running_subscriptions_charges(
    temporal_client: httpx.AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = Api(temporal_client, tenant_a)
    await api.customer_on_clock("2026-03-01T00:00:00Z")
    metric = await api.ok(
        "POST",
        "/api/v1/billable_metrics",
        {"billable_metric": {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}},
    )
    add_on = {"name": "Seat", "code": "seat", "amount_cents": 0, "amount_currency": "USD"}
    await api.ok("POST", "/api/v1/add_ons", {"add_on": add_on})
    plan = {
        "name": "Pro",
        "code": "pro",
        "interval": "monthly",
        "amount_cents": 5000,
        "amount_currency": "USD",
        "charges": [
            {
                "billable_metric_id": metric["billable_metric"]["lago_id"],
                "code": "calls",
                "charge_model": "standard",
                "properties": {"amount": "1"},
            }
        ],
    }
    created = (await api.ok("POST", "/api/v1/plans", {"plan": plan}))["plan"]
    seat = {
        "add_on_code": "seat",
        "charge_model": "standard",
        "units": 1,
        "pay_in_advance": True,
        "properties": {"amount": "10"},
    }
    await api.ok("POST", "/api/v1/plans/pro/fixed_charges", {"fixed_charge": seat})
    subscription = {"external_customer_id": "cus_1", "plan_code": "pro", "external_id": "sub_1"}
    await api.ok("POST", "/api/v1/subscriptions", {"subscription": subscription})
    for n in range(4):
        event = {
            "transaction_id": f"call_{n}",
            "external_subscription_id": "sub_1",
            "code": "calls",
            "timestamp": int(datetime(2026, 3, 10 + n, tzinfo=UTC).timestamp()),
        }
        await api.ok("POST", "/api/v1/events", {"event": event})
    bad = {"charge": {"properties": {"amount": "-1"}}}

    async def refused() -> Any:
        response = await temporal_client.put(
            "/api/v1/subscriptions/sub_1/charges/calls", json=bad, headers=api.headers
        )
        assert response.status_code == 422
        return response.json()["error_details"]

    assert await refused() == {"properties.amount": ["invalid_amount"]}
    # Mid-March: this subscription's calls cost $3 (a child plan is made for it) ...
    own = await api.ok(
        "PUT",
        "/api/v1/subscriptions/sub_1/charges/calls",
        {"charge": {"properties": {"amount": "3"}}},
    )
    assert own["charge"]["properties"] == {"amount": "3"}
    assert own["charge"]["lago_parent_id"] == created["charges"][0]["lago_id"]
    assert await refused() == {"properties.amount": ["invalid_amount"]}  # on its own plan too
    # ... and it has 2 seats (its child plan changed in place).
    seats = await api.ok(
        "PUT", "/api/v1/subscriptions/sub_1/fixed_charges/seat", {"fixed_charge": {"units": 2}}
    )
    assert seats["fixed_charge"]["units"] == 2.0
    listed = await api.ok("GET", "/api/v1/subscriptions/sub_1/charges")
    assert [c["properties"] for c in listed["charges"]] == [{"amount": "3"}]
    await api.advance("2026-04-01T00:00:00Z")

    start, april = await _invoices(sessions)
    assert _fees(start) == [("fixed_charge", "seat", 1000)]
    # March's 4 calls at the subscription's $3 (Lago bills the period with the override);
    # April's 2 seats × $10 in advance; the plan itself is unchanged.
    assert _fees(april) == [
        ("charge", "calls", 1200),
        ("fixed_charge", "seat", 2000),
        ("subscription", "pro", 5000),
    ]
    parent = (await api.ok("GET", "/api/v1/plans/pro"))["plan"]
    assert parent["charges"][0]["properties"] == {"amount": "1"}
    assert parent["fixed_charges"][0]["units"] == 1.0
    if os.environ.get("BXB_RECORD_HISTORY"):  # the replay test's subscription override
        wf_id = workflow_id(tenant_a.organization_id, "sub_1")
        await record_histories(temporal_env.client, wf_id, "subscription_overrides")


async def test_a_pending_subscription_starts_with_a_cascaded_change(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = Api(temporal_client, tenant_a)
    await api.customer_on_clock("2026-03-01T00:00:00Z")
    metric = await api.ok(
        "POST",
        "/api/v1/billable_metrics",
        {"billable_metric": {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}},
    )
    plan = {
        "name": "Metered",
        "code": "metered",
        "interval": "monthly",
        "amount_cents": 0,
        "amount_currency": "USD",
        "charges": [
            {
                "billable_metric_id": metric["billable_metric"]["lago_id"],
                "code": "calls",
                "charge_model": "standard",
                "properties": {"amount": "1"},
            }
        ],
    }
    await api.ok("POST", "/api/v1/plans", {"plan": plan})
    subscription = {
        "external_customer_id": "cus_1",
        "plan_code": "metered",
        "external_id": "sub_1",
        "subscription_at": "2026-03-15T00:00:00Z",
    }
    created = await api.ok("POST", "/api/v1/subscriptions", {"subscription": subscription})
    assert created["subscription"]["status"] == "pending"
    change = {"charge": {"properties": {"amount": "2"}, "cascade_updates": True}}
    await api.ok("PUT", "/api/v1/plans/metered/charges/calls", change)
    await api.advance("2026-03-16T00:00:00Z")
    event = {
        "transaction_id": "call_1",
        "external_subscription_id": "sub_1",
        "code": "calls",
        "timestamp": int(datetime(2026, 3, 20, tzinfo=UTC).timestamp()),
    }
    await api.ok("POST", "/api/v1/events", {"event": event})
    await api.advance("2026-04-01T00:00:00Z")
    [april] = await _invoices(sessions)
    # Not started when the change came: its first period is billed at $2 a call.
    assert _fees(april) == [("charge", "calls", 200), ("subscription", "metered", 0)]
