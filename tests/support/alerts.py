"""A customer, two metrics, a plan and a subscription's mirror row, for alert tests that
need no workflow (the reaction is called directly with the context a workflow would give)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.core.subscriptions import plan_snapshot
from bxb.models import Customer, Plan, Subscription
from bxb.usage_reactions.context import UsageContext
from tests.support.auth import Tenant

PERIOD_START = datetime(2026, 3, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 4, 1, tzinfo=UTC)


@dataclass
class Setup:
    tenant: Tenant
    customer_id: uuid.UUID
    subscription_id: uuid.UUID
    plan_id: uuid.UUID
    metric_ids: dict[str, str]


async def ok(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, body: Any = None
) -> dict[str, Any]:
    response = await client.request(method, path, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def metric(client: httpx.AsyncClient, tenant: Tenant, code: str, **extra: Any) -> str:
    body = {"name": code, "code": code, "aggregation_type": "count_agg", **extra}
    created = await ok(
        client, tenant, "POST", "/api/v1/billable_metrics", {"billable_metric": body}
    )
    return str(created["billable_metric"]["lago_id"])


async def subscription_setup(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    external_id: str = "sub_1",
) -> Setup:
    """Plan "usage": api_calls at $0.50 per call, storage (sum of gb) at $2.00 per GB."""
    calls = await metric(client, tenant, "api_calls")
    storage = await metric(client, tenant, "storage", aggregation_type="sum_agg", field_name="gb")
    await ok(
        client,
        tenant,
        "POST",
        "/api/v1/customers",
        {"customer": {"external_id": "cus_1", "currency": "USD"}},
    )
    charges = [
        {"billable_metric_id": calls, "charge_model": "standard", "properties": {"amount": "0.5"}},
        {"billable_metric_id": storage, "charge_model": "standard", "properties": {"amount": "2"}},
    ]
    plan = {
        "name": "Usage",
        "code": "usage",
        "interval": "monthly",
        "amount_cents": 0,
        "amount_currency": "USD",
        "charges": charges,
    }
    plan_id = (await ok(client, tenant, "POST", "/api/v1/plans", {"plan": plan}))["plan"]["lago_id"]
    async with transaction(sessions) as session:
        customer = await session.scalar(
            select(Customer).where(
                Customer.organization_id == tenant.organization_id, Customer.external_id == "cus_1"
            )
        )
        assert customer is not None
        row = Subscription(
            organization_id=tenant.organization_id,
            external_id=external_id,
            customer_id=customer.id,
            external_customer_id="cus_1",
            plan_id=uuid.UUID(plan_id),
            plan_code="usage",
            plan_amount_cents=0,
            plan_amount_currency="USD",
            status="active",
            billing_time="calendar",
            subscription_at=PERIOD_START,
            started_at=PERIOD_START,
            current_billing_period_started_at=PERIOD_START,
            current_billing_period_ending_at=PERIOD_END,
            workflow_id=f"wf-{external_id}",
        )
        session.add(row)
        await session.flush()
        return Setup(
            tenant,
            customer.id,
            row.id,
            uuid.UUID(plan_id),
            {"api_calls": calls, "storage": storage},
        )


async def usage_context(
    sessions: async_sessionmaker[AsyncSession],
    setup: Setup,
    *,
    now: datetime,
    period_start: datetime = PERIOD_START,
    period_end: datetime = PERIOD_END,
) -> UsageContext:
    """The context a workflow hands its reactions."""
    async with sessions() as session:
        plan = await session.get(Plan, setup.plan_id)
        assert plan is not None
        snapshot = plan_snapshot(plan)
    return UsageContext(
        organization_id=setup.tenant.organization_id,
        customer_id=setup.customer_id,
        external_customer_id="cus_1",
        external_id="sub_1",
        subscription_id=setup.subscription_id,
        timezone="UTC",
        currency="USD",
        plan=snapshot,
        period_start=period_start,
        period_end=period_end,
        usage_from=period_start,
        now=now,
    )
