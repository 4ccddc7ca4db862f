"""A customer's usage (Lago): current, projected to the period's end, and past periods.

Thin: the computations are in bxb.customer_usage (current and projected usage share one).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.customers import find_customer
from bxb.api.deps import OrganizationIdDep, OrgDep, SessionDep, SettingsDep, TemporalDep, reads_only
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, meta_for
from bxb.customer_usage.current import (
    CurrentUsage,
    EarlyView,
    NoCurrentUsageError,
    current_usage,
    early_view,
    live_subscription,
)
from bxb.customer_usage.past import UnknownMetricError, past_usage

router = APIRouter(prefix="/api/v1", tags=["customers"])


async def current_usage_of(
    request: Request,
    session: AsyncSession,
    view: EarlyView,
    organization_id: uuid.UUID,
    customer_id: uuid.UUID,
    external_subscription_id: str,
) -> CurrentUsage:
    """The customer's subscription's usage now (404 when it has none); the portal's too."""
    try:
        row = await live_subscription(
            session, organization_id, customer_id, external_subscription_id
        )
    except NoCurrentUsageError:
        raise not_found("subscription") from None
    store = request.app.state.event_pipeline.store
    return await current_usage(session, store, row, view)


async def _current(
    request: Request,
    organization_id: OrganizationIdDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    external_customer_id: str,
    external_subscription_id: str,
) -> CurrentUsage:
    client = await temporal.client()
    wait = settings.workflow_update_timeout
    async with early_view(client, organization_id, external_subscription_id, wait=wait) as view:
        customer = await find_customer(session, organization_id, external_customer_id)
        return await current_usage_of(
            request, session, view, organization_id, customer.id, external_subscription_id
        )


CurrentDep = Annotated[CurrentUsage, Depends(_current)]


def _without_taxes(usage: dict[str, Any]) -> dict[str, Any]:
    return usage | {"taxes_amount_cents": 0, "total_amount_cents": usage["amount_cents"]}


@router.get("/customers/{external_customer_id}/current_usage")
@reads_only
async def get_current_usage(current: CurrentDep) -> dict[str, Any]:
    """Usage of the subscription's current period so far, priced with its pinned plan."""
    return {"customer_usage": current.usage.to_lago_dict()}


@router.get("/customers/{external_customer_id}/projected_usage")
async def get_projected_usage(current: CurrentDep, apply_taxes: bool = True) -> dict[str, Any]:
    """The current usage and its projection to the period's end (billing.projection)."""
    projected = current.projected().to_lago_dict()
    return {"customer_projected_usage": projected if apply_taxes else _without_taxes(projected)}


@router.get("/customers/{external_customer_id}/past_usage")
async def get_past_usage(
    external_customer_id: str,
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    external_subscription_id: str | None = None,
    billable_metric_code: str | None = None,
    periods_count: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> dict[str, Any]:
    """Usage invoiced in past periods, newest first (customer_usage.past)."""
    customer = await find_customer(session, org.id, external_customer_id)
    if not external_subscription_id:
        raise validation_error({"external_subscription_id": ["value_is_mandatory"]})
    try:
        found = await past_usage(
            session,
            org.id,
            customer.id,
            external_subscription_id,
            offset=page.offset,
            limit=page.per_page,
            billable_metric_code=billable_metric_code,
            periods_count=periods_count,
        )
    except UnknownMetricError:
        raise not_found("billable_metric") from None
    return {
        "usage_periods": found.usage_periods,
        "meta": meta_for(page, found.total_count).model_dump(),
    }
