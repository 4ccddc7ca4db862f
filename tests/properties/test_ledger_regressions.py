"""Histories the ledger property found, each written out with the amounts it must give."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.auth import Tenant

pytestmark = pytest.mark.slow


async def _ok(client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, body: Any = None) -> Any:
    response = await client.request(method, f"/api/v1{path}", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.xfail(
    strict=True,
    reason="bxb/workflows/subscription.py _activate bills the advance fee during a trial, "
    "and _end_trial bills the same days again (workflow lane; reported, not fixed here)",
)
async def test_an_in_advance_trial_bills_its_paid_days_once(
    temporal_client: httpx.AsyncClient, worker: str, tenant_a: Tenant, engine: AsyncEngine
) -> None:
    """$29.00 a month in advance, 10-day trial from Jan 1: Jan 11..31 is billed once,
    21/31 of the month = 1964.5 → 1965 cents."""
    clock = await _ok(temporal_client, tenant_a, "POST", "/test_clocks",
                      {"test_clock": {"name": "c", "frozen_time": "2026-01-01T00:00:00Z"}})
    clock_id = clock["test_clock"]["lago_id"]
    customer = {"external_id": "cus", "currency": "USD", "test_clock_id": clock_id}
    await _ok(temporal_client, tenant_a, "POST", "/customers", {"customer": customer})
    plan = {"name": "Trial", "code": "trial", "interval": "monthly", "amount_cents": 2_900,
            "amount_currency": "USD", "pay_in_advance": True, "trial_period": 10}
    await _ok(temporal_client, tenant_a, "POST", "/plans", {"plan": plan})
    subscription = {"external_customer_id": "cus", "plan_code": "trial", "external_id": "sub"}
    await _ok(temporal_client, tenant_a, "POST", "/subscriptions", {"subscription": subscription})
    await _ok(temporal_client, tenant_a, "POST", f"/test_clocks/{clock_id}/advance",
              {"test_clock": {"frozen_time": "2026-01-20T00:00:00Z"}})
    async with engine.connect() as conn:
        billed = await conn.scalar(
            text("SELECT sum(amount_cents) FROM fees WHERE organization_id = :org "
                 "AND fee_type = 'subscription'"),
            {"org": tenant_a.organization_id},
        )
    assert billed == 1_965
