"""/api/v1/portal/subscriptions and /api/v1/portal/plans: the portal customer's own
subscriptions, the plans it may move to, plan changes and cancellation at period end
(through the subscription's workflow, as `/api/v1/subscriptions`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from bxb.api.deps import SettingsDep, TemporalDep
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.core.subscriptions import WorkflowRequestError
from bxb.inputs.bounds import fits
from bxb.models import Plan, Subscription
from bxb.portal.auth import PortalCustomer, PortalCustomerDep, PortalSessionDep
from bxb.portal.shapes import portal_plan_object, portal_subscription_object
from bxb.portal.subscriptions import (
    PortalRefusalError,
    cancel_at_period_end,
    change_to,
    offered_plans,
    subscription_of,
    subscriptions_of,
)

router = APIRouter(prefix="/api/v1/portal", tags=["portal"])


class PlanChange(BaseModel):
    model_config = ConfigDict(extra="ignore")

    plan_code: Annotated[str, fits(Plan.code, min_length=1)]


class PlanChangeBody(BaseModel):
    subscription: PlanChange


def refused(error: PortalRefusalError | WorkflowRequestError) -> ApiError:
    if isinstance(error, PortalRefusalError):
        return validation_error({error.field: [error.code]})
    return validation_error({"subscription": [str(error)]})


async def own_subscription(
    session: PortalSessionDep, portal: PortalCustomer, external_id: str
) -> tuple[Subscription, Plan | None]:
    found = await subscription_of(session, portal, external_id)
    if found is None:
        raise not_found("subscription")
    return found


@router.get("/subscriptions")
async def list_subscriptions(
    portal: PortalCustomerDep, session: PortalSessionDep
) -> dict[str, Any]:
    rows = await subscriptions_of(session, portal)
    return {"subscriptions": [portal_subscription_object(row, plan) for row, plan in rows]}


@router.get("/subscriptions/{external_id}")
async def get_subscription(
    external_id: str, portal: PortalCustomerDep, session: PortalSessionDep
) -> dict[str, Any]:
    row, plan = await own_subscription(session, portal, external_id)
    return {"subscription": portal_subscription_object(row, plan)}


@router.get("/plans")
async def list_plans(portal: PortalCustomerDep, session: PortalSessionDep) -> dict[str, Any]:
    """The plans the customer may move to: the organization's, in its currency."""
    return {"plans": [portal_plan_object(plan) for plan in await offered_plans(session, portal)]}


@router.post("/subscriptions/{external_id}/plan_change")
async def change_plan(
    external_id: str,
    body: PlanChangeBody,
    portal: PortalCustomerDep,
    session: PortalSessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    row, _ = await own_subscription(session, portal, external_id)
    try:
        await change_to(
            session,
            await temporal.client(),
            portal,
            row,
            body.subscription.plan_code,
            wait=settings.workflow_update_timeout,
        )
    except (PortalRefusalError, WorkflowRequestError) as error:
        raise refused(error) from error
    row, plan = await own_subscription(session, portal, external_id)
    return {"subscription": portal_subscription_object(row, plan)}


@router.post("/subscriptions/{external_id}/cancel")
async def cancel(
    external_id: str,
    portal: PortalCustomerDep,
    session: PortalSessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Cancel at the end of the current period (the period is billed as usual)."""
    row, _ = await own_subscription(session, portal, external_id)
    try:
        await cancel_at_period_end(
            await temporal.client(), row, wait=settings.workflow_update_timeout
        )
    except (PortalRefusalError, WorkflowRequestError) as error:
        raise refused(error) from error
    row, plan = await own_subscription(session, portal, external_id)
    return {"subscription": portal_subscription_object(row, plan)}
