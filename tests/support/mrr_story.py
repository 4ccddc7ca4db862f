"""The MRR story of tests/e2e/test_mrr_story.py: customers on one test clock driven through
the HTTP API, and the checks of the movements against the rollup, the invoices and a
retried activity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.activities.subscriptions import SubscriptionActivities
from bxb.billing.mrr import monthly_amount_cents
from bxb.events.postgres_store import PostgresEventStore
from bxb.models import Fee, Invoice, MrrMonthlyTotal, MrrMovement, Plan, Subscription
from bxb.workflows.billing_requests import BillingRequest
from bxb.workflows.subscription import workflow_id
from tests.support.auth import Tenant

RANGE = "from_date=2026-01-01&to_date=2026-05-31"


class Story:
    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client, self.headers = client, tenant.headers
        self.clock = ""

    async def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.client.request(method, path, json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def setup(self) -> None:
        body = {"test_clock": {"name": "mrr", "frozen_time": "2026-01-01T00:00:00Z"}}
        self.clock = (await self.ok("POST", "/api/v1/test_clocks", body))["test_clock"]["lago_id"]
        for name in "abcdefgh":
            currency = "EUR" if name in "eh" else "USD"
            customer = {"external_id": f"cus_{name}", "currency": currency}
            await self.ok("POST", "/api/v1/customers", {"customer": customer | self._clock()})
        plans: list[tuple[str, str, int, str, dict[str, Any]]] = [
            ("basic", "monthly", 3100, "USD", {}),
            ("pro", "monthly", 6200, "USD", {}),
            ("trial", "monthly", 3100, "USD", {"trial_period": 14}),
            ("annual", "yearly", 120000, "USD", {"pay_in_advance": True}),
            ("basic_eur", "monthly", 2000, "EUR", {}),
        ]
        for code, interval, amount, currency, extra in plans:
            plan = {
                "name": code,
                "code": code,
                "interval": interval,
                "amount_cents": amount,
                "amount_currency": currency,
                **extra,
            }
            await self.ok("POST", "/api/v1/plans", {"plan": plan})

    def _clock(self) -> dict[str, str]:
        return {"test_clock_id": self.clock}

    async def subscribe(self, customer: str, plan: str, external_id: str, **extra: Any) -> None:
        body = extra | {
            "external_customer_id": customer,
            "plan_code": plan,
            "external_id": external_id,
            "billing_time": "calendar",
        }
        await self.ok("POST", "/api/v1/subscriptions", {"subscription": body})

    async def advance(self, to: str) -> None:
        body = {"test_clock": {"frozen_time": to}}
        clock = await self.ok("POST", f"/api/v1/test_clocks/{self.clock}/advance", body)
        assert clock["test_clock"]["status"] == "ready"

    async def figure(self, path: str, query: str = RANGE) -> dict[str, list[dict[str, Any]]]:
        """Each currency's months of one figure."""
        body = await self.ok("GET", f"/api/v1/dashboard/{path}?{query}")
        (entries,) = body.values()
        return {entry["currency"]: entry["months"] for entry in entries}


async def rollup_is_the_sum_of_movements(
    sessions: async_sessionmaker[AsyncSession], movements: list[MrrMovement]
) -> None:
    expected: dict[tuple[str, datetime, str], tuple[int, int]] = {}
    for m in movements:
        key = (m.currency, datetime(m.occurred_at.year, m.occurred_at.month, 1, tzinfo=UTC), m.kind)
        count, delta = expected.get(key, (0, 0))
        expected[key] = (count + 1, delta + m.delta_cents)
    async with sessions() as session:
        rows = await session.scalars(select(MrrMonthlyTotal))
        found = {(r.currency, r.month, r.kind): (r.movements, r.delta_cents) for r in rows}
    assert found == expected


async def movements_agree_with_invoices(
    sessions: async_sessionmaker[AsyncSession], movements: list[MrrMovement]
) -> None:
    """Each subscription fee of a full period, normalised to a month, is the MRR the plan
    segment it bills was recorded at."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Fee.subscription_id, Fee.amount_cents, Fee.amount_details, Plan.interval)
                .join(Invoice, Invoice.id == Fee.invoice_id)
                .join(Subscription, Subscription.id == Fee.subscription_id)
                .join(Plan, Plan.id == Subscription.plan_id)
                .where(Fee.fee_type == "subscription", Invoice.status == "finalized")
            )
        ).all()
    recorded: dict[object, set[int]] = {}
    for m in movements:
        if m.mrr_after_cents:
            recorded.setdefault(m.subscription_id, set()).add(m.mrr_after_cents)
    full = [
        (segment, amount, interval)
        for segment, amount, details, interval in rows
        if details.get("days") == details.get("full_days")
    ]
    checked = {(amount, interval) for _, amount, interval in full}
    # Full periods of every plan were billed: basic, pro (and trial), basic_eur, annual.
    assert checked == {
        (3100, "monthly"),
        (6200, "monthly"),
        (2000, "monthly"),
        (3000, "monthly"),  # cus_h's override
        (120000, "yearly"),
    }
    for segment, amount, interval in full:
        assert recorded[segment] == {monthly_amount_cents(amount, interval)}


async def a_retried_activity_writes_nothing(
    story: Story,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    temporal_env: WorkflowEnvironment,
    org: Any,
) -> None:
    """The termination of sub_c, run again with the input the workflow gave it: no second
    movement, no second invoice."""
    handle = temporal_env.client.get_workflow_handle(workflow_id(org, "sub_c"))
    request = None
    async for event in handle.fetch_history_events():
        scheduled = event.activity_task_scheduled_event_attributes
        if event.HasField("activity_task_scheduled_event_attributes") and (
            scheduled.activity_type.name == "terminate_subscription"
        ):
            (request,) = await temporal_env.client.data_converter.decode(
                scheduled.input.payloads, [BillingRequest]
            )
    assert isinstance(request, BillingRequest)

    async def counts() -> tuple[int, int]:
        async with sessions() as session:
            movements = len(list(await session.scalars(select(MrrMovement.id))))
            invoices = len(list(await session.scalars(select(Invoice.id))))
            return movements, invoices

    before = await counts()
    await SubscriptionActivities(sessions, PostgresEventStore(engine)).record(request)
    assert await counts() == before
