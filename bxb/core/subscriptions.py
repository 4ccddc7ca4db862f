"""Talking to subscription workflows: snapshots of plans, update-with-start, updates.

Used by the API (and by test clocks); never bills anything itself.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)

from bxb.core.temporal import TemporalUnavailable
from bxb.core.workflow_calls import (
    BUSY,
    DEFAULT_WAIT,
    WorkflowRequestError,
    query_view,
    send_update,
    unanswered,
    with_answer_time,
    within,
)
from bxb.ledger import plan_snapshots
from bxb.models import Customer, Organization, Plan, Subscription, TestClock
from bxb.workflows import search_attributes
from bxb.workflows.state import (
    AdvanceRequest,
    BillableMetricSnapshot,
    ChangePlanRequest,
    ChargeFilterSnapshot,
    ChargeSnapshot,
    CreateRequest,
    FixedChargeSnapshot,
    PlanSnapshot,
    Segment,
    Status,
    SubscriptionState,
    SubscriptionView,
    UpdateRequest,
    UsageThresholdSnapshot,
)
from bxb.workflows.subscription import CURRENT_PATCHES, SubscriptionWorkflow, workflow_id

# Paused subscriptions are live: their workflow bills, terminates and follows test clocks.
LIVE_STATUSES = (Status.ACTIVE.value, Status.PENDING.value, "paused")
# Updates waiting for their result hold a long poll on the server, which caps them per
# namespace; a clock with thousands of subscriptions advances them this many at a time.
ADVANCE_CONCURRENCY = 256

__all__ = [
    "WorkflowRequestError",
    "advance_workflows",
    "change_plan",
    "end_at",
    "initial_state",
    "live_rows",
    "pinned_snapshot",
    "plan_snapshot",
    "query_view",
    "send_update",
    "start_subscription",
]


async def pinned_snapshot(session: AsyncSession, plan: Plan) -> PlanSnapshot:
    """The plan's snapshot, stored once in plan_snapshots (the caller's session is
    committed): workflows hand activities its key, not the snapshot."""
    return await plan_snapshots.pin(session, plan.organization_id, plan_snapshot(plan))


def plan_snapshot(plan: Plan) -> PlanSnapshot:
    return PlanSnapshot(
        id=plan.id,
        code=plan.code,
        name=plan.name,
        invoice_display_name=plan.invoice_display_name,
        interval=plan.interval,
        amount_cents=plan.amount_cents,
        currency=plan.amount_currency,
        pay_in_advance=plan.pay_in_advance,
        trial_period_days=plan.trial_period or None,
        bill_charges_monthly=bool(plan.bill_charges_monthly),
        charges=[
            ChargeSnapshot(
                id=charge.id,
                billable_metric=BillableMetricSnapshot(
                    id=charge.billable_metric.id,
                    code=charge.billable_metric.code,
                    name=charge.billable_metric.name,
                    aggregation_type=charge.billable_metric.aggregation_type,
                    field_name=charge.billable_metric.field_name,
                    recurring=charge.billable_metric.recurring,
                    rounding_function=charge.billable_metric.rounding_function,
                    rounding_precision=charge.billable_metric.rounding_precision,
                ),
                charge_model=charge.charge_model,
                properties=charge.properties,
                filters=[
                    ChargeFilterSnapshot(
                        id=f.id,
                        invoice_display_name=f.invoice_display_name,
                        properties=f.properties,
                        values=f.values,
                    )
                    for f in charge.filters
                ],
                invoice_display_name=charge.invoice_display_name,
                pay_in_advance=charge.pay_in_advance,
                regroup_paid_fees=charge.regroup_paid_fees,
                invoiceable=charge.invoiceable,
                min_amount_cents=charge.min_amount_cents,
            )
            for charge in plan.charges
        ],
        fixed_charges=[
            FixedChargeSnapshot(
                id=fixed.id,
                code=fixed.code,
                add_on_id=fixed.add_on_id,
                add_on_code=fixed.add_on.code,
                add_on_name=fixed.add_on.name,
                invoice_display_name=fixed.invoice_display_name,
                charge_model=fixed.charge_model,
                properties=fixed.properties,
                units=fixed.units,
                pay_in_advance=fixed.pay_in_advance,
                prorated=fixed.prorated,
            )
            for fixed in plan.fixed_charges
        ],
        usage_thresholds=[
            UsageThresholdSnapshot(
                id=threshold.id,
                amount_cents=threshold.amount_cents,
                recurring=threshold.recurring,
                threshold_display_name=threshold.threshold_display_name,
            )
            for threshold in plan.usage_thresholds
        ],
    )


async def test_clock_time(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, external_id: str
) -> datetime | None:
    """The frozen time of the test clock the subscription's customer is on, if any.

    Ended subscriptions count too: an event sent after the end still belongs to the
    customer's simulated time, not to the wall clock's (a period billed long ago). The
    newest subscription with this external_id decides, should the id have been reused.
    """
    async with sessions() as session:
        frozen: datetime | None = await session.scalar(
            select(TestClock.frozen_time)
            .join(Customer, Customer.test_clock_id == TestClock.id)
            .join(Subscription, Subscription.customer_id == Customer.id)
            .where(
                Subscription.organization_id == organization_id,
                Subscription.external_id == external_id,
            )
            .order_by(Subscription.created_at.desc())
            .limit(1)
        )
    return frozen


async def live_rows(
    session: AsyncSession, organization_id: uuid.UUID, external_id: str
) -> list[Subscription]:
    rows = await session.scalars(
        select(Subscription)
        .where(
            Subscription.organization_id == organization_id,
            Subscription.external_id == external_id,
            Subscription.status.in_(LIVE_STATUSES),
        )
        .order_by(Subscription.created_at)
    )
    return list(rows)


def initial_state(
    *,
    organization: Organization,
    customer: Customer,
    plan: PlanSnapshot,
    external_id: str,
    name: str | None,
    billing_time: str,
    subscription_at: datetime,
    ending_at: datetime | None,
    clock_time: datetime | None,
) -> SubscriptionState:
    return SubscriptionState(
        organization_id=organization.id,
        customer_id=customer.id,
        external_customer_id=customer.external_id,
        external_id=external_id,
        name=name,
        timezone=customer.timezone or organization.timezone,
        billing_time=billing_time,
        subscription_at=subscription_at,
        ending_at=ending_at,
        anchor=subscription_at,
        segment=Segment(lago_id=uuid.uuid4(), plan=plan, started_at=subscription_at),
        test_clock_id=customer.test_clock_id,
        clock_time=clock_time,
        recorded=False,
        # A new workflow takes every patch: no marker for each in its history.
        patches=list(CURRENT_PATCHES),
    )


async def start_subscription(
    client: Client,
    task_queue: str,
    state: SubscriptionState,
    request: CreateRequest,
    *,
    wait: float = DEFAULT_WAIT,
) -> SubscriptionView:
    """Update-with-start: creates the workflow once; the same request again is a no-op."""
    wf_id = workflow_id(state.organization_id, state.external_id)

    def start_operation() -> WithStartWorkflowOperation[SubscriptionWorkflow, SubscriptionState]:
        # An operation is used once; each attempt gets a new one with the same content.
        return WithStartWorkflowOperation(
            SubscriptionWorkflow.run,
            state,
            id=wf_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(
                        search_attributes.ORGANIZATION_ID, str(state.organization_id)
                    ),
                    SearchAttributePair(
                        search_attributes.CUSTOMER_EXTERNAL_ID, state.external_customer_id
                    ),
                    SearchAttributePair(search_attributes.PLAN_CODE, state.segment.plan.code),
                    SearchAttributePair(search_attributes.SUBSCRIPTION_STATUS, state.status.value),
                ]
            ),
            static_summary=f"Subscription {state.external_id} of {state.external_customer_id}",
        )

    update_id = str(uuid.uuid4())

    async def attempt(left: float) -> SubscriptionView:
        # The same update id each time: the server answers with the first attempt's outcome.
        return await client.execute_update_with_start_workflow(
            SubscriptionWorkflow.create,
            with_answer_time(request, left),
            start_workflow_operation=start_operation(),
            id=update_id,
        )

    return await within(wait, attempt, lambda: unanswered(client, wf_id))


async def advance_workflows(
    client: Client, workflow_ids: list[str], to: datetime, limit: timedelta
) -> dict[str, str]:
    """Advance every workflow's test clock to `to`; returns {workflow_id: failure} (empty: ok).

    A subscription that refuses, or is still busy at the limit, is a failure named by its
    reason. Temporal itself unreachable until the limit raises TemporalUnavailable.
    """
    in_flight = asyncio.Semaphore(ADVANCE_CONCURRENCY)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit.total_seconds()
    unreachable: list[TemporalUnavailable] = []

    async def advance(wf_id: str) -> tuple[str, str | None]:
        async with in_flight:
            left = deadline - loop.time()
            try:
                if left <= 0:
                    raise await unanswered(client, wf_id)
                await send_update(client, wf_id, "advance_clock", AdvanceRequest(to=to), wait=left)
            except WorkflowRequestError as exc:
                return wf_id, str(exc)
            except TemporalUnavailable as exc:
                if exc.code != BUSY:
                    unreachable.append(exc)
                return wf_id, exc.reason
        return wf_id, None

    results = await asyncio.gather(*(advance(wf_id) for wf_id in workflow_ids))
    if unreachable:
        raise unreachable[0]
    return {wf_id: failure for wf_id, failure in results if failure is not None}


async def change_plan(
    client: Client,
    row: Subscription,
    plan: Plan,
    *,
    name: str | None = None,
    wait: float,
    session: AsyncSession | None = None,
) -> SubscriptionView:
    """Move a live subscription to `plan` through its workflow (an upgrade at once with a
    prorated invoice, a downgrade at the period's end). The one path of `/api/v1` and the
    portal."""
    snapshot = plan_snapshot(plan) if session is None else await pinned_snapshot(session, plan)
    change = ChangePlanRequest(plan=snapshot, new_lago_id=uuid.uuid4(), name=name)
    return await send_update(client, row.workflow_id, "change_plan", change, wait=wait)


async def end_at(
    client: Client, row: Subscription, ending_at: datetime, *, wait: float
) -> SubscriptionView:
    """Set the subscription's `ending_at` through its workflow (as `PUT /subscriptions`)."""
    request = UpdateRequest(ending_at=ending_at)
    return await send_update(client, row.workflow_id, "update", request, wait=wait)
