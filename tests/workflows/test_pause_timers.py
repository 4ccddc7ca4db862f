"""Pause and resume on real (skipped) time: the workflow's own timer resumes it.

A $31.00 monthly plan in arrears, anniversary billing from the server's "now" (a whole
month per period). Five days in, it is paused with resume_at ten days later; nobody
resumes it but the workflow's timer, and the period's invoice leaves out those ten days.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.billing.periods import BillingTime, Interval, period_containing
from bxb.core.db import transaction
from bxb.core.subscriptions import initial_state, plan_snapshot, send_update, start_subscription
from bxb.events.postgres_store import PostgresEventStore
from bxb.models import Customer, Invoice, Organization, Plan, Subscription
from bxb.worker import build_worker
from bxb.workflows import search_attributes
from bxb.workflows.state import CreateRequest, PauseRequest
from bxb.workflows.subscription import workflow_id
from tests.support.auth import Tenant

pytestmark = pytest.mark.slow


async def test_the_timer_resumes_and_the_paused_days_are_not_billed(
    time_skipping_env: WorkflowEnvironment,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    async with transaction(sessions) as session:
        org = await session.get(Organization, tenant_a.organization_id)
        assert org is not None
        customer = Customer(
            organization_id=org.id, external_id="cus_pt", sequential_id=1, metadata_=[]
        )
        plan = Plan(
            organization_id=org.id,
            code="monthly",
            name="Monthly",
            interval="monthly",
            amount_cents=3100,
            amount_currency="USD",
            pay_in_advance=False,
        )
        session.add_all([customer, plan])
        await session.flush()
        await session.refresh(plan, ["charges", "fixed_charges", "usage_thresholds"])
        snapshot = plan_snapshot(plan)
    client = time_skipping_env.client
    queue = f"pt-{uuid.uuid4().hex[:8]}"
    started = await time_skipping_env.get_current_time()
    state = initial_state(
        organization=org,
        customer=customer,
        plan=snapshot,
        external_id="sub_pt",
        name=None,
        billing_time="anniversary",
        subscription_at=started,
        ending_at=None,
        clock_time=None,
    )
    wf_id = workflow_id(org.id, "sub_pt")
    async with build_worker(client, queue, sessions, PostgresEventStore(engine)):
        await start_subscription(client, queue, state, CreateRequest(plan=snapshot))
        await time_skipping_env.sleep(timedelta(days=5))
        pause = PauseRequest(resume_at=started + timedelta(days=15))
        view = await send_update(client, wf_id, "pause", pause)
        assert view.state.shown_status == "paused"
        shown = (await client.get_workflow_handle(wf_id).describe()).typed_search_attributes
        assert shown.get(search_attributes.SUBSCRIPTION_STATUS) == "paused"
        await time_skipping_env.sleep(timedelta(days=12))  # past the resume
        async with sessions() as session:
            row = await session.scalar(select(Subscription))
            assert row is not None
            assert (row.status, row.paused_at, row.resume_at) == ("active", None, None)
        shown = (await client.get_workflow_handle(wf_id).describe()).typed_search_attributes
        assert shown.get(search_attributes.SUBSCRIPTION_STATUS) == "active"
        await time_skipping_env.sleep(timedelta(days=20))  # past the period's end
        # No workflow left behind: the time-skipping server would wait on its tasks.
        await client.get_workflow_handle(wf_id).terminate()

    async with sessions() as session:
        invoices = list(await session.scalars(select(Invoice)))
    period = period_containing(
        started,
        interval=Interval.MONTHLY,
        billing_time=BillingTime.ANNIVERSARY,
        anchor=started,
        tz=ZoneInfo(state.timezone),
    )
    [invoice] = invoices
    # Ten of the period's days paused: (full − 10) / full of 3100, half-up.
    full = period.full_days
    assert invoice.total_amount_cents == (3100 * (full - 10) * 2 + full) // (2 * full)
