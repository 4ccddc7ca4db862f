"""/api/v1/portal/subscriptions/{external_id}/usage/...: the portal customer's usage,
current, projected to the period's end, and past periods (the computations of
`/customers/{id}/current_usage`, `/projected_usage` and `/past_usage`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from bxb.api.customer_usage import current_usage_of
from bxb.api.deps import SettingsDep, TemporalDep
from bxb.api.errors import not_found
from bxb.api.pagination import PageDep, meta_for
from bxb.customer_usage.current import CurrentUsage, early_view
from bxb.customer_usage.past import UnknownMetricError, past_usage
from bxb.portal.auth import PortalCustomer, PortalCustomerDep, PortalSessionDep
from bxb.portal.shapes import portal_usage_object

router = APIRouter(prefix="/api/v1/portal", tags=["portal"])


async def _current(
    request: Request,
    portal: PortalCustomer,
    session: PortalSessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    external_id: str,
) -> CurrentUsage:
    org, customer = portal.organization, portal.customer
    client = await temporal.client()
    wait = settings.workflow_update_timeout
    async with early_view(client, org.id, external_id, wait=wait) as view:
        return await current_usage_of(request, session, view, org.id, customer.id, external_id)


@router.get("/subscriptions/{external_id}/usage/current")
async def get_current_usage(
    external_id: str,
    request: Request,
    portal: PortalCustomerDep,
    session: PortalSessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    current = await _current(request, portal, session, temporal, settings, external_id)
    return {"usage": portal_usage_object(current.usage.to_lago_dict())}


@router.get("/subscriptions/{external_id}/usage/projected")
async def get_projected_usage(
    external_id: str,
    request: Request,
    portal: PortalCustomerDep,
    session: PortalSessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    current = await _current(request, portal, session, temporal, settings, external_id)
    return {"usage": portal_usage_object(current.projected().to_lago_dict())}


@router.get("/subscriptions/{external_id}/usage/past")
async def get_past_usage(
    external_id: str,
    portal: PortalCustomerDep,
    session: PortalSessionDep,
    page: PageDep,
    billable_metric_code: str | None = None,
    periods_count: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> dict[str, Any]:
    try:
        found = await past_usage(
            session,
            portal.organization.id,
            portal.customer.id,
            external_id,
            offset=page.offset,
            limit=page.per_page,
            billable_metric_code=billable_metric_code,
            periods_count=periods_count,
        )
    except UnknownMetricError:
        raise not_found("billable_metric") from None
    return {
        "usage_periods": [portal_usage_object(period) for period in found.usage_periods],
        "meta": meta_for(page, found.total_count).model_dump(),
    }
