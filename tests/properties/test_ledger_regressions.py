"""Histories the ledger property found, each written out with the amounts it must give."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.auth import Tenant

pytestmark = pytest.mark.slow


class Api:
    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client, self.tenant = client, tenant

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.client.request(
            method, f"/api/v1{path}", json=body, headers=self.tenant.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def plan(self, code: str, amount_cents: int, *, in_advance: bool, trial: int = 0) -> None:
        plan = {
            "name": code,
            "code": code,
            "interval": "monthly",
            "amount_cents": amount_cents,
            "amount_currency": "USD",
            "pay_in_advance": in_advance,
            "trial_period": trial,
        }
        await self.ok("POST", "/plans", {"plan": plan})

    async def subscribe(self, plan_code: str) -> None:
        body = {"external_customer_id": "cus", "plan_code": plan_code, "external_id": "sub"}
        await self.ok("POST", "/subscriptions", {"subscription": body})


async def _subscription_fees(engine: AsyncEngine, tenant: Tenant) -> int:
    async with engine.connect() as conn:
        billed = await conn.scalar(
            text(
                "SELECT coalesce(sum(amount_cents), 0) FROM fees "
                "WHERE organization_id = :org AND fee_type = 'subscription'"
            ),
            {"org": tenant.organization_id},
        )
    return int(billed)


@pytest.mark.parametrize("upgrade_in_trial", [False, True], ids=["trial-plan", "upgrade"])
async def test_in_advance_days_after_a_trial_are_billed_once(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    engine: AsyncEngine,
    upgrade_in_trial: bool,
) -> None:
    """A 10-day trial from Jan 1 on a $29.00 plan: Jan 11..31 is billed once, in advance,
    21/31 of the month = 1964.5 → 1965 cents. Upgraded on Jan 5 to a $49.00 plan in
    advance: 21/31 of $49.00 = 3319.35 → 3319 cents (the trial days stay free)."""
    api = Api(temporal_client, tenant_a)
    clock = await api.ok(
        "POST",
        "/test_clocks",
        {"test_clock": {"name": "c", "frozen_time": "2026-01-01T00:00:00Z"}},
    )
    clock_id = clock["test_clock"]["lago_id"]
    customer = {"external_id": "cus", "currency": "USD", "test_clock_id": clock_id}
    await api.ok("POST", "/customers", {"customer": customer})
    await api.plan("trial", 2_900, in_advance=not upgrade_in_trial, trial=10)
    await api.plan("pro", 4_900, in_advance=True)
    await api.subscribe("trial")
    if upgrade_in_trial:
        await api.ok(
            "POST",
            f"/test_clocks/{clock_id}/advance",
            {"test_clock": {"frozen_time": "2026-01-05T00:00:00Z"}},
        )
        await api.subscribe("pro")
    await api.ok(
        "POST",
        f"/test_clocks/{clock_id}/advance",
        {"test_clock": {"frozen_time": "2026-01-20T00:00:00Z"}},
    )
    assert await _subscription_fees(engine, tenant_a) == (3_319 if upgrade_in_trial else 1_965)


async def test_an_event_of_an_ended_subscription_takes_its_customers_clock_time(
    temporal_client: httpx.AsyncClient, worker: str, tenant_a: Tenant
) -> None:
    """The clock is a year ahead of the wall clock; an event sent without a timestamp after
    the subscription ended must be stamped with the clock's time, not today's, or it lands
    in a period that was already billed."""
    api = Api(temporal_client, tenant_a)
    frozen = "2031-01-01T00:00:00Z"
    clock = await api.ok(
        "POST", "/test_clocks", {"test_clock": {"name": "c", "frozen_time": frozen}}
    )
    customer = {
        "external_id": "cus",
        "currency": "USD",
        "test_clock_id": clock["test_clock"]["lago_id"],
    }
    await api.ok("POST", "/customers", {"customer": customer})
    metric = {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}
    await api.ok("POST", "/billable_metrics", {"billable_metric": metric})
    await api.plan("basic", 1_000, in_advance=False)
    await api.subscribe("basic")
    await api.ok("DELETE", "/subscriptions/sub")
    event = {"transaction_id": "late", "external_subscription_id": "sub", "code": "calls"}
    stored = await api.ok("POST", "/events", {"event": event})
    assert stored["event"]["timestamp"] == frozen
