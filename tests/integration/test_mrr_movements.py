"""record_mrr under concurrency: two subscriptions of one customer change MRR in
parallel transactions; the customer lock makes the second see the first."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.ledger.mrr_movements import rebuild_monthly_totals, record_mrr
from bxb.models import MrrMonthlyTotal, MrrMovement, Plan, Subscription
from bxb.workflows.billing_requests import BillingRequest, SubscriptionRow
from tests.integration.test_invoices import insert_customer
from tests.support.auth import Tenant

Sessions = async_sessionmaker[AsyncSession]
JAN = datetime(2026, 1, 1, tzinfo=UTC)


async def _requests(sessions: Sessions, tenant: Tenant) -> list[BillingRequest]:
    org = tenant.organization_id
    customer_id = await insert_customer(sessions, tenant)
    async with transaction(sessions) as session:
        plan = Plan(
            organization_id=org,
            code="basic",
            name="Basic",
            interval="quarterly",
            amount_cents=9300,
            amount_currency="USD",
        )
        session.add(plan)
        await session.flush()
        requests = []
        for external_id in ("sub_1", "sub_2"):
            row = SubscriptionRow(
                lago_id=uuid.uuid4(),
                organization_id=org,
                customer_id=customer_id,
                external_customer_id="cus_1",
                external_id=external_id,
                plan_id=plan.id,
                plan_code="basic",
                plan_amount_cents=9300,
                plan_amount_currency="USD",
                name=None,
                status="active",
                billing_time="calendar",
                subscription_at=JAN,
                started_at=JAN,
                workflow_id=f"wf-{external_id}",
            )
            data = row.model_dump()
            data["id"] = data.pop("lago_id")
            session.add(Subscription(**data))
            requests.append(
                BillingRequest(
                    kind="start",
                    at=JAN,
                    organization_id=org,
                    customer_id=customer_id,
                    external_customer_id="cus_1",
                    external_id=external_id,
                    timezone="UTC",
                    currency="USD",
                    invoice_segment_id=row.lago_id,
                    invoice_period_start=JAN,
                    invoice_period_end=datetime(2026, 4, 1, tzinfo=UTC),
                    rows=[row],
                )
            )
    return requests


async def test_parallel_first_subscriptions_are_new_then_expansion(
    sessions: Sessions, tenant_a: Tenant
) -> None:
    first, second = await _requests(sessions, tenant_a)
    written = asyncio.Event()

    async def slow_step() -> None:
        async with transaction(sessions) as session:
            await record_mrr(session, first)
            written.set()
            await asyncio.sleep(0.5)  # the step's transaction is still open

    async def step() -> None:
        await written.wait()
        async with transaction(sessions) as session:
            await record_mrr(session, second)  # waits for the first to commit

    await asyncio.gather(slow_step(), step())
    # A retry of either step writes nothing more.
    for request in (first, second):
        async with transaction(sessions) as session:
            await record_mrr(session, request)
    async with sessions() as session:
        movements = await session.execute(
            select(
                MrrMovement.external_subscription_id,
                MrrMovement.kind,
                MrrMovement.mrr_after_cents,
                MrrMovement.customer_mrr_after_cents,
            ).order_by(MrrMovement.customer_mrr_after_cents)
        )
        # 9300 a quarter = 3100 a month.
        assert [tuple(m) for m in movements] == [
            ("sub_1", "new", 3100, 3100),
            ("sub_2", "expansion", 3100, 6200),
        ]
        totals = await session.execute(
            select(
                MrrMonthlyTotal.kind, MrrMonthlyTotal.movements, MrrMonthlyTotal.delta_cents
            ).order_by(MrrMonthlyTotal.kind)
        )
        assert [tuple(t) for t in totals] == [("expansion", 1, 3100), ("new", 1, 3100)]
    # Rebuilt from the movements (a bulk load's repair), the rollup is the same.
    async with transaction(sessions) as session:
        await rebuild_monthly_totals(session, tenant_a.organization_id)
    async with sessions() as session:
        rebuilt = await session.execute(
            select(
                MrrMonthlyTotal.kind, MrrMonthlyTotal.movements, MrrMonthlyTotal.delta_cents
            ).order_by(MrrMonthlyTotal.kind)
        )
        assert [tuple(t) for t in rebuilt] == [("expansion", 1, 3100), ("new", 1, 3100)]
