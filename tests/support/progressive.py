"""A customer on a test clock with a usage plan that has thresholds (progressive billing
tests): $1.00 per unit of `units`, 20 % VAT, fixed threshold $10, recurring $20."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from bxb.core.subscriptions import query_view
from bxb.models import Invoice, Subscription
from bxb.usage_reactions.context import UsageContext
from tests.support.auth import Tenant

THRESHOLDS = [
    {"amount_cents": 1000, "threshold_display_name": "First $10"},
    {"amount_cents": 2000, "threshold_display_name": "Every $20", "recurring": True},
]


class ProgressiveApi:
    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client = client
        self.headers = tenant.headers
        self.clock = ""
        self.sent = 0

    async def send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.client.request(method, path, json=body, headers=self.headers)

    async def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.send(method, path, body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def setup(
        self,
        frozen: str = "2026-03-01T00:00:00Z",
        thresholds: list[dict[str, Any]] | None = None,
        charge: dict[str, Any] | None = None,
        **plan_fields: Any,
    ) -> None:
        """Customer on a clock at `frozen`, plan "metered" ($10 a month in arrears, VAT)."""
        await self.ok(
            "POST", "/api/v1/taxes", {"tax": {"name": "VAT", "code": "vat", "rate": "20"}}
        )
        clock = await self.ok(
            "POST", "/api/v1/test_clocks", {"test_clock": {"name": "c", "frozen_time": frozen}}
        )
        self.clock = clock["test_clock"]["lago_id"]
        customer = {"external_id": "cus_1", "test_clock_id": self.clock, "tax_codes": ["vat"]}
        await self.ok("POST", "/api/v1/customers", {"customer": customer})
        metric = {
            "name": "Units",
            "code": "units",
            "aggregation_type": "sum_agg",
            "field_name": "units",
        }
        created = await self.ok("POST", "/api/v1/billable_metrics", {"billable_metric": metric})
        plan = {
            "name": "Metered",
            "code": "metered",
            "interval": "monthly",
            "amount_cents": 1000,
            "amount_currency": "USD",
            "charges": [
                {
                    "billable_metric_id": created["billable_metric"]["lago_id"],
                    "charge_model": "standard",
                    "properties": {"amount": "1"},
                }
                | (charge or {})
            ],
            "usage_thresholds": THRESHOLDS if thresholds is None else thresholds,
        } | plan_fields
        await self.ok("POST", "/api/v1/plans", {"plan": plan})
        body = {"external_customer_id": "cus_1", "plan_code": "metered", "external_id": "sub_1"}
        await self.ok("POST", "/api/v1/subscriptions", {"subscription": body})
        await self.advance(frozen)

    async def advance(self, to: str) -> None:
        await self.ok(
            "POST",
            f"/api/v1/test_clocks/{self.clock}/advance",
            {"test_clock": {"frozen_time": to}},
        )

    async def use(self, units: int, at: str) -> None:
        """`units` units at `at` (the clock is moved there first)."""
        await self.advance(at)
        self.sent += 1
        event = {
            "transaction_id": f"tx_{self.sent}",
            "external_subscription_id": "sub_1",
            "code": "units",
            "timestamp": int(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()),
            "properties": {"units": units},
        }
        await self.ok("POST", "/api/v1/events", {"event": event})


async def usage_context(
    sessions: async_sessionmaker[AsyncSession], temporal: Client, external_id: str = "sub_1"
) -> UsageContext:
    """What the workflow hands its reactions, read from its live state."""
    async with sessions() as session:
        row = await session.scalar(
            select(Subscription).where(
                Subscription.external_id == external_id, Subscription.status == "active"
            )
        )
    assert row is not None
    state = (await query_view(temporal, row.workflow_id, wait=30)).state
    assert state.period_start is not None
    assert state.period_end is not None
    assert state.usage_from is not None
    return UsageContext(
        organization_id=state.organization_id,
        customer_id=state.customer_id,
        external_customer_id=state.external_customer_id,
        external_id=state.external_id,
        subscription_id=state.segment.lago_id,
        timezone=state.timezone,
        currency=state.segment.plan.currency,
        plan=state.segment.plan,
        period_start=state.period_start,
        period_end=state.period_end,
        usage_from=state.usage_from,
        now=state.clock_time or datetime.now(UTC),
    )


async def progressive_invoices(
    sessions: async_sessionmaker[AsyncSession], count: int, within: float = 30.0
) -> list[Invoice]:
    """The progressive billing invoices once there are `count` of them (they follow the
    events' acknowledgement by a signal window and an activity)."""
    deadline = time.monotonic() + within
    while True:
        found = [i for i in await invoices(sessions) if i.invoice_type == "progressive_billing"]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} progressive invoices, not {count}"
        await asyncio.sleep(0.1)


async def invoices(sessions: async_sessionmaker[AsyncSession]) -> list[Invoice]:
    async with sessions() as session:
        return list(
            await session.scalars(select(Invoice).order_by(Invoice.sequential_id, Invoice.id))
        )
