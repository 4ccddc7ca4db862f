"""The real-time path: durable timers, not a test clock, on the time-skipping server.

A monthly plan runs for 13 months of (skipped) time; every period closes on its timer,
the workflow continues as new after each close, and exactly one invoice exists per period.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.core.db import transaction
from bxb.core.subscriptions import initial_state, plan_snapshot, start_subscription
from bxb.events.postgres_store import PostgresEventStore
from bxb.models import Customer, Invoice, Organization, Plan, Subscription
from bxb.worker import build_worker
from bxb.workflows.state import CreateRequest
from bxb.workflows.subscription import workflow_id
from tests.support.auth import Tenant

pytestmark = pytest.mark.slow


async def test_monthly_plan_over_thirteen_months(
    time_skipping_env: WorkflowEnvironment,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    async with transaction(sessions) as session:
        org = await session.get(Organization, tenant_a.organization_id)
        assert org is not None
        customer = Customer(
            organization_id=org.id, external_id="cus_rt", sequential_id=1, metadata_=[]
        )
        plan = Plan(
            organization_id=org.id,
            code="monthly",
            name="Monthly",
            interval="monthly",
            amount_cents=3000,
            amount_currency="USD",
            pay_in_advance=True,
        )
        session.add_all([customer, plan])
        await session.flush()
        await session.refresh(plan, ["charges", "fixed_charges", "usage_thresholds"])
        snapshot = plan_snapshot(plan)
    client = time_skipping_env.client
    queue = f"rt-{uuid.uuid4().hex[:8]}"
    started = await time_skipping_env.get_current_time()
    # Anniversary billing on the start instant: every period is a whole month.
    state = initial_state(
        organization=org,
        customer=customer,
        plan=snapshot,
        external_id="sub_rt",
        name=None,
        billing_time="anniversary",
        subscription_at=started,
        ending_at=None,
        clock_time=None,
    )
    async with build_worker(client, queue, sessions, PostgresEventStore(engine)):
        await start_subscription(client, queue, state, CreateRequest(plan=snapshot))
        await time_skipping_env.sleep(timedelta(days=396))  # 13 months and a bit
        history = await client.get_workflow_handle(workflow_id(org.id, "sub_rt")).describe()

    async with sessions() as session:
        invoices = list(await session.scalars(select(Invoice).order_by(Invoice.issuing_date)))
        row = await session.scalar(select(Subscription))
    assert row is not None
    # Paid in advance: one invoice at the start, then one at each of 13 period closes.
    assert [i.kind for i in invoices] == ["start"] + ["period_end"] * 13
    assert all(i.total_amount_cents == 3000 for i in invoices)
    assert [i.sequential_id for i in invoices] == list(range(1, 15))
    # Each close moved the workflow to a new run (continue-as-new), the first run included.
    assert history.run_id != history.raw_description.workflow_execution_info.first_run_id
    assert row.status == "active"
    assert row.current_billing_period_started_at is not None
    assert row.current_billing_period_started_at > started + timedelta(days=390)
    assert datetime.now(UTC) - started < timedelta(days=1)  # real time barely moved
