"""/api/v1/subscriptions: create (update-with-start), plan changes, updates, termination.

The workflow owns each subscription; this router validates, sends it messages, and reads
the Postgres mirror that the workflow's activities keep for listing and filtering.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy import select

from bxb.api.customers import find_customer
from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep, reads_only
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.plan_overrides import PlanOverridesIn, create_override_plan, override_currency
from bxb.api.plans import find_plan
from bxb.core.subscriptions import (
    WorkflowRequestError,
    change_plan,
    initial_state,
    live_rows,
    pinned_snapshot,
    send_update,
    start_subscription,
)
from bxb.governance.audit.recorder import record_activity
from bxb.governance.audit.resources import plain
from bxb.inputs.bounds import AwareInstant, column_length, fits
from bxb.lago_objects.subscriptions import subscription_object
from bxb.models import Customer, Organization, Plan, Subscription, TestClock
from bxb.workflows.state import CreateRequest, TerminateRequest, UpdateRequest
from bxb.workflows.subscription import workflow_id

router = APIRouter(prefix="/api/v1", tags=["subscriptions"])


# A subscription's workflow id, subscription/<organization>/<external_id>, is stored in a
# VARCHAR column too: the external_id may take only what that id leaves.
EXTERNAL_ID_MAX_LENGTH = min(
    column_length(Subscription.external_id),
    column_length(Subscription.workflow_id) - len(workflow_id(uuid.UUID(int=0), "")),
)


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    external_customer_id: Annotated[str, fits(Subscription.external_customer_id, min_length=1)]
    plan_code: Annotated[str, fits(Subscription.plan_code, min_length=1)]
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=EXTERNAL_ID_MAX_LENGTH)]
    name: Annotated[str, fits(Subscription.name)] | None = None
    subscription_at: AwareInstant | None = None
    ending_at: AwareInstant | None = None
    billing_time: Literal["calendar", "anniversary"] = "calendar"
    plan_overrides: PlanOverridesIn | None = None


class SubscriptionCreateBody(BaseModel):
    subscription: SubscriptionCreate


class SubscriptionUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Annotated[str, fits(Subscription.name)] | None = None
    ending_at: AwareInstant | None = None


class SubscriptionUpdateBody(BaseModel):
    subscription: SubscriptionUpdate


async def _current_row(session: SessionDep, org: Organization, external_id: str) -> Subscription:
    """The row a GET shows: the active (or paused) one, else pending, else the latest
    ended one.

    Read afresh: the workflow's activity has just written it in another transaction.
    """
    rows = list(
        await session.scalars(
            select(Subscription)
            .where(Subscription.organization_id == org.id, Subscription.external_id == external_id)
            .order_by(Subscription.updated_at.desc())
            .execution_options(populate_existing=True)
        )
    )
    for status in ("active", "paused", "pending"):
        for row in rows:
            if row.status == status:
                return row
    if not rows:
        raise not_found("subscription")
    return rows[0]


def _refused(exc: WorkflowRequestError) -> ApiError:
    return validation_error({"subscription": [str(exc)]})


async def _now_for(session: SessionDep, customer: Customer) -> tuple[datetime, datetime | None]:
    """ "Now" for a customer: its test clock's frozen time, else the wall clock."""
    if customer.test_clock_id is None:
        return datetime.now(UTC), None
    clock = await session.get(TestClock, customer.test_clock_id)
    if clock is None:
        raise validation_error({"test_clock_id": ["test_clock_not_found"]})
    return clock.frozen_time, clock.frozen_time


@router.post("/subscriptions")
async def create_subscription(
    body: SubscriptionCreateBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    data = body.subscription
    customer = await find_customer(session, org.id, data.external_customer_id)
    plan = await find_plan(session, org, data.plan_code)
    currency = override_currency(plan, data.plan_overrides)
    if customer.currency is not None and customer.currency != currency:
        raise validation_error({"currency": ["currencies_does_not_match"]})
    existing = await live_rows(session, org.id, data.external_id)
    if data.plan_overrides is not None and (not existing or existing[0].plan_code != plan.code):
        # Lago: the overrides make a child plan of this subscription's own.
        plan = await create_override_plan(session, org, plan, data.plan_overrides)
    if customer.currency is None:
        customer.currency = currency  # the first subscription fixes it (Lago)
    await session.commit()
    if plan.parent_id is not None:
        session.expunge(plan)
        reloaded = await session.get(Plan, plan.id)
        assert reloaded is not None
        plan = reloaded
    client = await temporal.client()
    wait = settings.workflow_update_timeout
    snapshot = await pinned_snapshot(session, plan)
    try:
        if existing:
            current = existing[0]
            if current.external_customer_id != customer.external_id:
                raise validation_error({"external_id": ["value_already_exist"]})
            if current.plan_code != plan.code:
                await change_plan(client, current, plan, name=data.name, wait=wait, session=session)
        else:
            now, clock_time = await _now_for(session, customer)
            state = initial_state(
                organization=org,
                customer=customer,
                plan=snapshot,
                external_id=data.external_id,
                name=data.name,
                billing_time=data.billing_time,
                subscription_at=data.subscription_at or now,
                ending_at=data.ending_at,
                clock_time=clock_time,
            )
            # As in Lago: an end after the start, and not in the past (even when backdated).
            if data.ending_at is not None and data.ending_at <= max(state.subscription_at, now):
                raise validation_error({"ending_at": ["invalid_date"]})
            request = CreateRequest(plan=snapshot, name=data.name, ending_at=data.ending_at)
            queue = settings.temporal_task_queue
            # Nothing is pending: end the read transaction so that its connection goes back
            # to the pool while the workflow starts (up to the wait, under load).
            await session.commit()
            await start_subscription(client, queue, state, request, wait=wait)
    except WorkflowRequestError as exc:
        raise _refused(exc) from exc
    row = await _current_row(session, org, data.external_id)
    if not existing:
        await _audited(session, row, "created", "started")
    elif existing[0].plan_code != row.plan_code:
        await _audited(
            session, row, "updated", changes={"plan_code": [existing[0].plan_code, row.plan_code]}
        )
    return {"subscription": subscription_object(row)}


async def _audited(
    session: SessionDep,
    row: Subscription,
    op: str,
    verb: str | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """The workflow's activity wrote the change (no actor there): the request records it."""
    record_activity(session.sync_session, row, op, verb=verb, changes=changes)
    await session.commit()


@router.get("/subscriptions")
@reads_only
async def list_subscriptions(
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    external_customer_id: str | None = None,
    plan_code: str | None = None,
    status: Annotated[list[str] | None, Query(alias="status[]")] = None,
) -> dict[str, Any]:
    # A paused subscription is still in its billing cycle: listed with the active ones
    # unless statuses are named (status[]=paused lists only those).
    statuses = status or ["active", "paused"]
    unknown = set(statuses) - {"active", "paused", "pending", "terminated", "canceled"}
    if unknown:
        raise validation_error({"status": ["value_is_invalid"]})
    query = select(Subscription).where(
        Subscription.organization_id == org.id, Subscription.status.in_(statuses)
    )
    if external_customer_id is not None:
        query = query.where(Subscription.external_customer_id == external_customer_id)
    if plan_code is not None:
        query = query.where(Subscription.plan_code == plan_code)
    rows, meta = await paginate(session, query.order_by(Subscription.created_at.desc()), page)
    return {"subscriptions": [subscription_object(r) for r in rows], "meta": meta.model_dump()}


@router.get("/subscriptions/{external_id}")
@reads_only
async def get_subscription(external_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    return {"subscription": subscription_object(await _current_row(session, org, external_id))}


@router.put("/subscriptions/{external_id}")
async def update_subscription(
    external_id: str,
    body: SubscriptionUpdateBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    rows = await live_rows(session, org.id, external_id)
    if not rows:
        raise not_found("subscription")
    before = {"name": rows[0].name, "ending_at": rows[0].ending_at}
    fields = body.subscription.model_fields_set
    request = UpdateRequest(
        name=body.subscription.name,
        ending_at=body.subscription.ending_at,
        clear_ending_at="ending_at" in fields and body.subscription.ending_at is None,
    )
    try:
        await send_update(
            await temporal.client(),
            rows[0].workflow_id,
            "update",
            request,
            wait=settings.workflow_update_timeout,
        )
    except WorkflowRequestError as exc:
        raise _refused(exc) from exc
    row = await _current_row(session, org, external_id)
    after = {"name": row.name, "ending_at": row.ending_at}
    changes = {
        key: [plain(before[key]), plain(after[key])] for key in before if before[key] != after[key]
    }
    if changes:
        await _audited(session, row, "updated", changes=changes)
    return {"subscription": subscription_object(row)}


@router.delete("/subscriptions/{external_id}")
async def terminate_subscription(
    external_id: str,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    rows = await live_rows(session, org.id, external_id)
    if not rows:
        raise not_found("subscription")
    try:
        await send_update(
            await temporal.client(),
            rows[0].workflow_id,
            "terminate",
            TerminateRequest(),
            wait=settings.workflow_update_timeout,
        )
    except WorkflowRequestError as exc:
        raise _refused(exc) from exc
    terminated = await session.get(Subscription, rows[0].id, populate_existing=True)
    assert terminated is not None
    await _audited(
        session,
        terminated,
        "updated",
        "terminated",
        {"status": [rows[0].status, terminated.status]},
    )
    return {"subscription": subscription_object(terminated)}
