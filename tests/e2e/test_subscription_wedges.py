"""Inputs that no retry can fix never wedge a subscription (issue 9).

Each of them is answered within seconds, with Lago's 422 and the reason, and the
subscription is left as it was and takes the next valid request. A period close that can
never succeed keeps being retried slowly (billing must happen), shows its error, and
refuses updates at once with a 503 instead of keeping them waiting. An update the API
stopped waiting for (503) is never applied afterwards.

The workflow-level cases go through the Temporal client directly, not through the API, so
that they prove the workflow itself fails fast whatever the API lets through.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.core.subscriptions import (
    WorkflowRequestError,
    initial_state,
    plan_snapshot,
    send_update,
    start_subscription,
)
from bxb.models import Customer, Invoice, Organization, Plan, Subscription
from bxb.workflows.state import CreateRequest, PlanSnapshot, SubscriptionState, UpdateRequest
from bxb.workflows.subscription import SubscriptionWorkflow, workflow_id
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.histories import record_histories
from tests.support.subscriptions import SubscriptionApi

pytestmark = pytest.mark.slow

# "Within seconds": well under the API's bound on waiting for a workflow (15 s by default).
PROMPT = 8.0
BILLING_ERROR = SearchAttributeKey.for_keyword("BxbBillingError")
JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def api(subscription_api: SubscriptionApi) -> SubscriptionApi:
    return subscription_api


async def _row(sessions: async_sessionmaker[AsyncSession], external_id: str) -> Subscription:
    async with sessions() as session:
        row = await session.scalar(
            select(Subscription)
            .where(Subscription.external_id == external_id)
            .execution_options(populate_existing=True)
        )
    assert row is not None
    return row


async def _invoices(sessions: async_sessionmaker[AsyncSession]) -> list[Invoice]:
    async with sessions() as session:
        query = select(Invoice).order_by(Invoice.sequential_id)
        return list(await session.scalars(query.execution_options(populate_existing=True)))


async def _catalog(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> tuple[Organization, Customer, PlanSnapshot]:
    async with sessions() as session:
        org = await session.get(Organization, tenant.organization_id)
        customer = await session.scalar(select(Customer))
        plan = await session.scalar(select(Plan))
        assert org is not None
        assert customer is not None
        assert plan is not None
        await session.refresh(plan, ["charges", "fixed_charges", "usage_thresholds"])
        return org, customer, plan_snapshot(plan)


def _state(
    catalog: tuple[Organization, Customer, PlanSnapshot],
    external_id: str,
    subscription_at: datetime = JAN_1,
) -> SubscriptionState:
    org, customer, snapshot = catalog
    return initial_state(
        organization=org,
        customer=customer,
        plan=snapshot,
        external_id=external_id,
        name=None,
        billing_time="calendar",
        subscription_at=subscription_at,
        ending_at=None,
        clock_time=JAN_1,
    )


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
async def test_a_start_the_billing_code_cannot_compute_is_refused_at_once(
    api: SubscriptionApi,
    timezone: str,
    temporal_env: WorkflowEnvironment,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await api.customer_on_clock("2026-01-01T00:00:00Z", timezone=timezone)
    await api.plan()
    # The API's date bound refuses year 1 before any workflow exists.
    refused = await api.subscribe(subscription_at="0001-01-01T00:00:00Z")
    assert api.took < PROMPT
    assert refused.status_code == 422, refused.text
    assert refused.json()["error_details"] == {"subscription_at": ["value_is_out_of_range"]}
    # Sent to the workflow anyway, year 1 overflows: in New York in the workflow's own date
    # arithmetic (its local day is in year 0), in UTC in the activity. Refused at once.
    catalog = await _catalog(sessions, tenant_a)
    year_one = datetime(1, 1, 1, tzinfo=UTC)
    async with asyncio.timeout(PROMPT):
        with pytest.raises(WorkflowRequestError, match="out of range"):
            await start_subscription(
                temporal_env.client,
                worker,
                _state(catalog, "sub_1", year_one),
                CreateRequest(plan=catalog[2]),
            )
    # Nothing was left behind: the same external_id starts normally, and takes updates.
    started = await api.subscribe()
    assert started.status_code == 200, started.text
    assert started.json()["subscription"]["status"] == "active"
    renamed = await api.rename("Renamed")
    assert renamed.status_code == 200, renamed.text
    assert (await api.subscription())["name"] == "Renamed"


async def test_a_name_the_ledger_cannot_store_is_refused_at_once(
    api: SubscriptionApi, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await api.customer_on_clock("2026-01-01T00:00:00Z")
    await api.plan()
    refused = await api.subscribe(name="\u0000")
    assert api.took < PROMPT
    assert refused.status_code == 422, refused.text
    assert (await api.subscribe(name="Plain")).status_code == 200
    refused = await api.rename("a\u0000b")
    assert api.took < PROMPT
    assert refused.status_code == 422, refused.text
    assert (await api.rename("Again")).status_code == 200
    assert (await _row(sessions, "sub_1")).name == "Again"


async def test_the_workflow_refuses_an_update_it_cannot_record_and_keeps_its_state(
    api: SubscriptionApi,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await api.customer_on_clock("2026-01-01T00:00:00Z")
    await api.plan()
    assert (await api.subscribe(name="Before")).status_code == 200
    wf_id = workflow_id(tenant_a.organization_id, "sub_1")
    handle = temporal_env.client.get_workflow_handle(wf_id)
    before = (await handle.query(SubscriptionWorkflow.view)).state
    async with asyncio.timeout(PROMPT):
        with pytest.raises(WorkflowRequestError, match="0x00"):
            await send_update(temporal_env.client, wf_id, "update", UpdateRequest(name="\x00"))
    after = (await handle.query(SubscriptionWorkflow.view)).state
    assert after == before
    assert (await _row(sessions, "sub_1")).name == "Before"
    # The next valid update goes through.
    async with asyncio.timeout(PROMPT):
        view = await send_update(temporal_env.client, wf_id, "update", UpdateRequest(name="Ok"))
    assert view.state.name == "Ok"
    assert (await _row(sessions, "sub_1")).name == "Ok"


async def test_a_workflow_id_longer_than_its_column_fails_the_start_at_once(
    api: SubscriptionApi,
    temporal_env: WorkflowEnvironment,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await api.customer_on_clock("2026-01-01T00:00:00Z")
    await api.plan()
    catalog = await _catalog(sessions, tenant_a)
    org, _, snapshot = catalog

    def state(external_id: str) -> SubscriptionState:
        return _state(catalog, external_id)

    # subscription/<uuid>/<external_id>: 50 characters plus the external_id, over 255.
    too_long = "x" * 230
    for _ in range(2):  # and again: the failed start left nothing that wedges a retry
        async with asyncio.timeout(PROMPT):
            with pytest.raises(WorkflowRequestError, match="too long"):
                await start_subscription(
                    temporal_env.client, worker, state(too_long), CreateRequest(plan=snapshot)
                )
        described = await temporal_env.client.get_workflow_handle(
            workflow_id(org.id, too_long)
        ).describe()
        assert described.status is WorkflowExecutionStatus.COMPLETED
    async with sessions() as session:
        assert await session.scalar(select(Subscription)) is None
    # The customer and plan are fine: a subscription with a normal id starts.
    async with asyncio.timeout(PROMPT):
        view = await start_subscription(
            temporal_env.client, worker, state("short"), CreateRequest(plan=snapshot)
        )
    assert view.state.status.value == "active"


async def test_a_period_close_that_cannot_succeed_stalls_visibly_and_refuses_updates(
    api: SubscriptionApi,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await api.customer_on_clock("2026-01-01T00:00:00Z")
    await api.plan()
    assert (await api.subscribe()).status_code == 200
    # The ledger answers every invoice with a data error (as a numeric overflow would).
    await _refuse_invoices(engine, "RAISE EXCEPTION 'amount out of range' USING ERRCODE = '22003'")
    try:
        stuck = await api.advance("2026-02-01T00:00:00Z")
        assert api.took < PROMPT
        assert stuck.status_code == 422, stuck.text
        [reason] = stuck.json()["error_details"]["subscriptions"].values()
        assert "close_period" in reason
        assert "amount out of range" in reason
        handle = temporal_env.client.get_workflow_handle(
            workflow_id(tenant_a.organization_id, "sub_1")
        )
        view = await handle.query(SubscriptionWorkflow.view)
        assert view.last_error is not None
        assert "amount out of range" in view.last_error
        attributes = (await handle.describe()).typed_search_attributes
        assert "amount out of range" in (attributes.get(BILLING_ERROR) or "")
        # Updates are refused at once while the close is stalled (not kept waiting).
        await _rename_answers_busy(api, "amount out of range")
    finally:
        await _accept_invoices(engine)
    # The close is retried on its own (backing off from 5 s) and succeeds once, in time order.
    await _january_billed_once(api, sessions)
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(BILLING_ERROR) is None
    assert (await api.rename("Later")).status_code == 200
    assert (await api.subscription())["name"] == "Later"


async def test_an_update_the_api_gave_up_on_is_never_applied(
    api: SubscriptionApi,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    temporal_settings: Settings,
    tenant_a: Tenant,
) -> None:
    await api.customer_on_clock("2026-01-01T00:00:00Z")
    await api.plan()
    assert (await api.subscribe(name="Kept")).status_code == 200
    # A transient failure (retried on durable timers): the close keeps the updates waiting.
    await _refuse_invoices(engine, "RAISE EXCEPTION 'ledger is read-only'")
    try:
        settings = temporal_settings.model_copy(update={"test_clock_advance_timeout": 2.0})
        async for client in app_client(create_app(settings)):
            impatient = SubscriptionApi(client, tenant_a)
            impatient.clock = api.clock
            stuck = await impatient.advance("2026-02-01T00:00:00Z")
            assert stuck.status_code == 422, stuck.text
        await _rename_answers_busy(api, "ledger is read-only")  # at the bound (4 s here)
    finally:
        await _accept_invoices(engine)
    await _january_billed_once(api, sessions)
    # The caller was told the rename failed: it was dropped, not applied late.
    assert (await api.subscription())["name"] == "Kept"
    assert (await _row(sessions, "sub_1")).name == "Kept"


async def _rename_answers_busy(api: SubscriptionApi, reason: str) -> None:
    busy = await api.rename("While busy")
    assert api.took < PROMPT
    assert busy.status_code == 503, busy.text
    body = busy.json()
    assert (body["status"], body["error"], body["code"]) == (
        503,
        "Service Unavailable",
        "subscription_busy",
    )
    assert reason in body["error_details"]["subscription"][0]


async def _january_billed_once(
    api: SubscriptionApi, sessions: async_sessionmaker[AsyncSession]
) -> None:
    answer = await _advance_until_done(api, "2026-02-01T00:00:00Z")
    assert answer.status_code == 200, answer.text
    assert [i.total_amount_cents for i in await _invoices(sessions)] == [3100]


async def _advance_until_done(api: SubscriptionApi, to: str) -> httpx.Response:
    """Advance the clock, again while the subscription still reports itself busy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while True:
        answer = await api.advance(to)
        if answer.status_code == 200 or loop.time() > deadline:
            return answer
        await asyncio.sleep(1)


async def _refuse_invoices(engine: AsyncEngine, statement: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN {statement}; END $$"
            )
        )
        await conn.execute(
            text("CREATE TRIGGER refuse BEFORE INSERT ON invoices EXECUTE FUNCTION refuse()")
        )


async def _accept_invoices(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER IF EXISTS refuse ON invoices"))
        await conn.execute(text("DROP FUNCTION IF EXISTS refuse()"))


async def test_a_subscription_through_every_failure_path_replays(
    api: SubscriptionApi,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A backdated start, a refused update, a stalled close and its recovery, in one
    workflow; its history is recorded (BXB_RECORD_HISTORY=1) for the replay test."""
    await api.customer_on_clock("2026-03-15T00:00:00Z")
    await api.plan()
    assert (await api.subscribe(subscription_at="1970-01-01T00:00:00Z")).status_code == 200
    wf_id = workflow_id(tenant_a.organization_id, "sub_1")
    with pytest.raises(WorkflowRequestError):
        await send_update(temporal_env.client, wf_id, "update", UpdateRequest(name="\x00"))
    await _refuse_invoices(engine, "RAISE EXCEPTION 'amount out of range' USING ERRCODE = '22003'")
    try:
        assert (await api.advance("2026-04-01T00:00:00Z")).status_code == 422
    finally:
        await _accept_invoices(engine)
    assert (await _advance_until_done(api, "2026-04-01T00:00:00Z")).status_code == 200
    assert (await api.advance("2026-05-01T00:00:00Z")).status_code == 200
    assert [i.total_amount_cents for i in await _invoices(sessions)] == [3100, 3100]
    if os.environ.get("BXB_RECORD_HISTORY"):
        await record_histories(temporal_env.client, wf_id, "subscription_failures")
