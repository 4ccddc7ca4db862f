"""Plan usage thresholds (progressive billing) and lifetime usage through the API and the
unmodified lago-python-client: Lago's shapes, its 422 codes, and isolation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.customer import Customer as LagoCustomer
from lago_python_client.models.plan import Plan
from lago_python_client.models.subscription import Subscription as LagoSubscription
from lago_python_client.models.usage_threshold import UsageThreshold, UsageThresholds
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.core.db import transaction
from bxb.models import Customer
from bxb.models import Plan as PlanRow
from bxb.models import Subscription as SubscriptionRow
from bxb.usage_reactions.thresholds_interest import USAGE_THRESHOLDS
from tests.support.auth import Tenant
from tests.support.progressive import usage_context

URL = "/api/v1/plans"


def _plan(code: str = "basic", **extra: Any) -> dict[str, Any]:
    return {
        "name": code.title(),
        "code": code,
        "interval": "monthly",
        "amount_cents": 1000,
        "amount_currency": "EUR",
    } | extra


async def _post(client: httpx.AsyncClient, tenant: Tenant, plan: dict[str, Any]) -> httpx.Response:
    return await client.post(URL, json={"plan": plan}, headers=tenant.headers)


def _shape(thresholds: list[dict[str, Any]]) -> list[tuple[int, bool, str | None]]:
    return [(t["amount_cents"], t["recurring"], t["threshold_display_name"]) for t in thresholds]


async def test_plan_thresholds_are_stored_replaced_and_shown_as_lago_shows_them(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    thresholds = [
        {"amount_cents": 1000, "threshold_display_name": "Starter"},
        {"amount_cents": 5000},
        {"amount_cents": 2500, "recurring": True, "threshold_display_name": "Every $25"},
    ]
    created = await _post(client, tenant_a, _plan(usage_thresholds=thresholds))
    assert created.status_code == 200, created.text
    plan = created.json()["plan"]
    assert _shape(plan["usage_thresholds"]) == [
        (1000, False, "Starter"),
        (2500, True, "Every $25"),
        (5000, False, None),
    ]
    first = plan["usage_thresholds"][0]
    assert set(first) == {
        "lago_id",
        "threshold_display_name",
        "amount_cents",
        "recurring",
        "created_at",
        "updated_at",
    }
    got = await client.get(f"{URL}/basic", headers=tenant_a.headers)
    assert got.json()["plan"]["usage_thresholds"] == plan["usage_thresholds"]
    # Another organization sees no such plan.
    assert (await client.get(f"{URL}/basic", headers=tenant_b.headers)).status_code == 404

    # An update without thresholds keeps them; with, replaces them (same amount, same id).
    renamed = await client.put(
        f"{URL}/basic", json={"plan": {"name": "Renamed"}}, headers=tenant_a.headers
    )
    assert renamed.json()["plan"]["usage_thresholds"] == plan["usage_thresholds"]
    replaced = await client.put(
        f"{URL}/basic",
        json={"plan": {"usage_thresholds": [{"amount_cents": 1000}, {"amount_cents": 9000}]}},
        headers=tenant_a.headers,
    )
    assert replaced.status_code == 200, replaced.text
    now = replaced.json()["plan"]["usage_thresholds"]
    assert _shape(now) == [(1000, False, None), (9000, False, None)]
    assert now[0]["lago_id"] == first["lago_id"]
    cleared = await client.put(
        f"{URL}/basic", json={"plan": {"usage_thresholds": []}}, headers=tenant_a.headers
    )
    assert cleared.json()["plan"]["usage_thresholds"] == []


@pytest.mark.parametrize(
    ("thresholds", "details"),
    [
        ([{"threshold_display_name": "no amount"}], {"usage_thresholds": ["missing_amount_cents"]}),
        ([{"amount_cents": 0}], {"amount_cents": ["value_is_out_of_range"]}),
        ([{"amount_cents": -500, "recurring": True}], {"amount_cents": ["value_is_out_of_range"]}),
        (
            [{"amount_cents": 100, "recurring": True}, {"amount_cents": 200, "recurring": True}],
            {"usage_thresholds": ["multiple_recurring_thresholds"]},
        ),
        (
            [{"amount_cents": 100}, {"amount_cents": 100}],
            {"usage_thresholds": ["duplicated_values"]},
        ),
        (
            [{"amount_cents": 300}, {"amount_cents": 100}],
            {"usage_thresholds": ["thresholds_not_ascending"]},
        ),
        ([{"amount_cents": "ten"}], {"usage_thresholds.0.amount_cents": ["invalid_type"]}),
    ],
)
async def test_bad_thresholds_get_lagos_422(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    thresholds: list[dict[str, Any]],
    details: dict[str, list[str]],
) -> None:
    response = await _post(client, tenant_a, _plan(usage_thresholds=thresholds))
    assert response.status_code == 422
    assert response.json()["error_details"] == details
    # Nothing was written; an update is refused the same way.
    assert (await client.get(f"{URL}/basic", headers=tenant_a.headers)).status_code == 404
    assert (await _post(client, tenant_a, _plan())).status_code == 200
    update = await client.put(
        f"{URL}/basic", json={"plan": {"usage_thresholds": thresholds}}, headers=tenant_a.headers
    )
    assert update.status_code == 422
    assert update.json()["error_details"] == details


async def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_lago_client_sets_thresholds_and_lifetime_usage(
    live_api: str,
    worker: str,
    tenant_a: Tenant,
    tenant_b: Tenant,
    temporal_env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    plan = await _call(
        lago.plans.create,
        Plan(
            name="Metered",
            code="metered",
            interval="monthly",
            amount_cents=0,
            amount_currency="USD",
            usage_thresholds=UsageThresholds(
                __root__=[
                    UsageThreshold(amount_cents=10000, threshold_display_name="Ten"),
                    UsageThreshold(amount_cents=5000, recurring=True),
                ]
            ),
        ),
    )
    assert [(t.amount_cents, t.recurring) for t in plan.usage_thresholds.__root__] == [
        (5000, True),
        (10000, False),
    ]
    await _call(lago.customers.create, LagoCustomer(external_id="cus_1", currency="USD"))
    await _call(
        lago.subscriptions.create,
        LagoSubscription(external_customer_id="cus_1", plan_code="metered", external_id="sub_1"),
    )
    # The subscription pinned the plan's thresholds; a later plan edit does not change them.
    await _call(
        lago.plans.update,
        Plan(usage_thresholds=UsageThresholds(__root__=[UsageThreshold(amount_cents=1)])),
        "metered",
    )
    context = await usage_context(sessions, temporal_env.client)
    assert [(t.amount_cents, t.recurring) for t in context.plan.usage_thresholds] == [
        (5000, True),
        (10000, False),
    ]

    lifetime = await _call(lago.subscriptions.lifetime_usage, "sub_1")
    assert (
        lifetime.external_subscription_id,
        lifetime.external_historical_usage_amount_cents,
        lifetime.invoiced_usage_amount_cents,
        lifetime.current_usage_amount_cents,
    ) == ("sub_1", 0, 0, 0)
    updated = await _call(lago.subscriptions.update_lifetime_usage, "sub_1", 12500)
    assert updated.lago_id == lifetime.lago_id
    assert updated.external_historical_usage_amount_cents == 12500
    # $125 lifetime: $100 crossed, then the recurring steps $150, $200, ...: half of $150.
    assert [(t.amount_cents, t.completion_ratio) for t in updated.usage_thresholds or []] == [
        (10000, 1.0),
        (15000, 0.5),
    ]
    again = await _call(lago.subscriptions.lifetime_usage, "sub_1")
    assert again.external_historical_usage_amount_cents == 12500

    # Another organization's key sees no such subscription, and changes nothing.
    other = Client(api_key=tenant_b.api_key, api_url=live_api)
    for attempt in (
        _call(other.subscriptions.lifetime_usage, "sub_1"),
        _call(other.subscriptions.update_lifetime_usage, "sub_1", 1),
    ):
        with pytest.raises(LagoApiError) as failure:
            await attempt
        assert failure.value.status_code == 404
    final = await _call(lago.subscriptions.lifetime_usage, "sub_1")
    assert final.external_historical_usage_amount_cents == 12500

    with pytest.raises(LagoApiError) as refused:
        await _call(lago.subscriptions.update_lifetime_usage, "sub_1", -1)
    assert refused.value.status_code == 422


async def test_the_watcher_cares_for_active_subscriptions_whose_plan_has_thresholds(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with_thresholds = _plan("metered", usage_thresholds=[{"amount_cents": 100}])
    for plan in (with_thresholds, _plan("flat")):
        assert (await _post(client, tenant_a, plan)).status_code == 200
    customer = {"external_id": "cus_1"}
    await client.post("/api/v1/customers", json={"customer": customer}, headers=tenant_a.headers)
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        customer_id = await session.scalar(select(Customer.id))
        plans = {p.code: p for p in await session.scalars(select(PlanRow))}
        for external_id, code, status in [
            ("sub_metered", "metered", "active"),
            ("sub_flat", "flat", "active"),
            ("sub_ended", "metered", "terminated"),
        ]:
            session.add(
                SubscriptionRow(
                    organization_id=tenant_a.organization_id,
                    external_id=external_id,
                    customer_id=customer_id,
                    external_customer_id="cus_1",
                    plan_id=plans[code].id,
                    plan_code=code,
                    plan_amount_cents=1000,
                    plan_amount_currency="EUR",
                    status=status,
                    billing_time="calendar",
                    subscription_at=now,
                    workflow_id=f"wf-{external_id}",
                )
            )
    keys = [(tenant_a.organization_id, e) for e in ("sub_metered", "sub_flat", "sub_ended")]
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        cares = await USAGE_THRESHOLDS.load(raw, keys)
    assert list(cares) == [(tenant_a.organization_id, "sub_metered")]
    # Thresholds removed from the plan: the subscription keeps its pinned ones, so it
    # still counts.
    cleared = await client.put(
        f"{URL}/metered", json={"plan": {"usage_thresholds": []}}, headers=tenant_a.headers
    )
    assert cleared.status_code == 200
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert list(await USAGE_THRESHOLDS.load(raw, keys)) == [
            (tenant_a.organization_id, "sub_metered")
        ]
