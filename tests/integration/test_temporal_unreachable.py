"""Temporal unreachable: every route that needs it answers 503 in Lago's shape, at once.

The app's Temporal address has nothing listening. Routes that read or change a
subscription through its workflow (live state, previews, updates, termination, clock
advances) answer 503 `temporal_unavailable`, not 500 and not 422: nothing is wrong with
the request, and it can be sent again.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.models import Customer, Plan, Subscription
from tests.support.auth import Tenant
from tests.support.subscriptions import SubscriptionApi

PROMPT = 8.0


@pytest.fixture
async def api(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> SubscriptionApi:
    """A customer on a clock with a subscription row (as its workflow would have written)."""
    api = SubscriptionApi(client, tenant_a)
    await api.customer_on_clock("2026-01-01T00:00:00Z")
    await api.plan()
    jan_1 = datetime(2026, 1, 1, tzinfo=UTC)
    async with transaction(sessions) as session:
        customer = await session.scalar(select(Customer))
        plan = await session.scalar(select(Plan))
        assert customer is not None
        assert plan is not None
        session.add(
            Subscription(
                organization_id=tenant_a.organization_id,
                external_id="sub_1",
                customer_id=customer.id,
                external_customer_id="cus_1",
                plan_id=plan.id,
                plan_code="basic",
                plan_amount_cents=3100,
                plan_amount_currency="USD",
                status="active",
                billing_time="calendar",
                subscription_at=jan_1,
                started_at=jan_1,
                workflow_id=f"subscription/{tenant_a.organization_id}/sub_1",
            )
        )
    return api


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/customers/cus_1/current_usage?external_subscription_id=sub_1", None),
        (
            "POST",
            "/api/v1/invoices/preview",
            {"customer": {"external_id": "cus_1"}, "subscriptions": {"external_ids": ["sub_1"]}},
        ),
        ("PUT", "/api/v1/subscriptions/sub_1", {"subscription": {"name": "New"}}),
        ("DELETE", "/api/v1/subscriptions/sub_1", None),
        (
            "POST",
            "/api/v1/subscriptions",
            {
                "subscription": {
                    "external_customer_id": "cus_1",
                    "plan_code": "basic",
                    "external_id": "sub_2",
                }
            },
        ),
        (
            "POST",
            "/api/v1/test_clocks/{clock}/advance",
            {"test_clock": {"frozen_time": "2026-02-01T00:00:00Z"}},
        ),
    ],
)
async def test_routes_that_need_temporal_answer_503(
    api: SubscriptionApi, method: str, path: str, body: object
) -> None:
    started = time.monotonic()
    response = await api.send(method, path.format(clock=api.clock), body)
    assert time.monotonic() - started < PROMPT
    assert response.status_code == 503, response.text
    answer = response.json()
    assert (answer["status"], answer["error"], answer["code"]) == (
        503,
        "Service Unavailable",
        "temporal_unavailable",
    )
    assert answer["error_details"]["temporal"]
