"""A small catalog for the charge, fixed-charge and override route tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.plan_overrides import PlanOverridesIn, create_override_plan
from bxb.models import Customer, Organization, Plan, Subscription
from tests.support.auth import Tenant


async def ok(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, body: Any = None
) -> dict[str, Any]:
    response = await client.request(method, path, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def status_of(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    response = await client.request(method, path, json=body, headers=tenant.headers)
    return response.status_code, response.json()


async def catalog(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    """A metric with a region filter, an add-on, a VAT tax and a plan with one charge."""
    metric = await ok(
        client,
        tenant,
        "POST",
        "/api/v1/billable_metrics",
        {
            "billable_metric": {
                "name": "Calls",
                "code": "calls",
                "aggregation_type": "count_agg",
                "filters": [{"key": "region", "values": ["eu", "us"]}],
            }
        },
    )
    add_on = {"name": "Seat", "code": "seat", "amount_cents": 0, "amount_currency": "USD"}
    await ok(client, tenant, "POST", "/api/v1/add_ons", {"add_on": add_on})
    tax = {"name": "VAT", "code": "vat", "rate": "20"}
    await ok(client, tenant, "POST", "/api/v1/taxes", {"tax": tax})
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
    created = await ok(client, tenant, "POST", "/api/v1/plans", {"plan": plan})
    return {"metric": metric["billable_metric"], "plan": created["plan"]}


async def child_plan(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, overrides: dict[str, Any]
) -> uuid.UUID:
    async with sessions() as session:
        org = await session.get(Organization, tenant.organization_id)
        assert org is not None
        plan = await session.scalar(
            select(Plan).where(Plan.organization_id == org.id, Plan.parent_id.is_(None))
        )
        assert plan is not None
        child = await create_override_plan(
            session, org, plan, PlanOverridesIn.model_validate(overrides)
        )
        await session.commit()
        return child.id


async def subscription_on(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    plan_id: uuid.UUID,
) -> None:
    """The mirror row of an active subscription on the plan (as its workflow writes it)."""
    await ok(client, tenant, "POST", "/api/v1/customers", {"customer": {"external_id": "cus_9"}})
    async with sessions() as session:
        customer = await session.scalar(
            select(Customer).where(Customer.organization_id == tenant.organization_id)
        )
        assert customer is not None
        at = datetime(2026, 1, 1, tzinfo=UTC)
        session.add(
            Subscription(
                id=uuid.uuid4(),
                organization_id=tenant.organization_id,
                external_id="sub_9",
                customer_id=customer.id,
                external_customer_id="cus_9",
                plan_id=plan_id,
                plan_code="pro",
                plan_amount_cents=5000,
                plan_amount_currency="USD",
                status="active",
                billing_time="calendar",
                subscription_at=at,
                started_at=at,
                workflow_id="wf",
            )
        )
        await session.commit()
