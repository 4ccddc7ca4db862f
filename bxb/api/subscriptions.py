"""/api/v1/subscriptions: create (update-with-start), plan changes, updates, termination.

The workflow owns each subscription; this router validates, sends it messages, and reads
the Postgres mirror that the workflow's activities keep for listing and filtering.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy import select

from bxb.api.customers import find_customer
from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep, reads_only
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.plan_overrides import PlanOverridesIn, create_override_plan, override_currency
from bxb.api.plans import find_plan
from bxb.core.subscribing import (
    SubscriptionTerms,
    refusal,
    shown_subscription,
    subscribe,
)
from bxb.core.subscriptions import WorkflowRequestError, live_rows, send_update
from bxb.governance.audit.recorder import record_activity
from bxb.governance.audit.resources import plain
from bxb.inputs.bounds import AwareInstant, column_length, fits
from bxb.lago_objects.subscriptions import subscription_object
from bxb.models import Subscription
from bxb.workflows.state import TerminateRequest, UpdateRequest
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
    live = await live_rows(session, org.id, data.external_id)
    overrides = data.plan_overrides
    own_plan = (
        None if overrides is None else partial(create_override_plan, session, org, plan, overrides)
    )
    row = await subscribe(
        session,
        temporal,
        settings,
        organization=org,
        customer=customer,
        plan=plan,
        currency=currency,
        live=live,
        terms=SubscriptionTerms(
            external_id=data.external_id,
            name=data.name,
            billing_time=data.billing_time,
            subscription_at=data.subscription_at,
            ending_at=data.ending_at,
        ),
        own_plan=own_plan,
    )
    if not live:
        await _audited(session, row, "created", "started")
    elif live[0].plan_code != row.plan_code:
        changes = {"plan_code": [live[0].plan_code, row.plan_code]}
        await _audited(session, row, "updated", changes=changes)
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
    return {
        "subscription": subscription_object(await shown_subscription(session, org.id, external_id))
    }


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
        raise refusal(exc) from exc
    row = await shown_subscription(session, org.id, external_id)
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
        raise refusal(exc) from exc
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
