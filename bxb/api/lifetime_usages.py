"""/api/v1/subscriptions/{external_id}/lifetime_usage (Lago-compatible).

GET reads the lifetime usage progressive billing counts thresholds against; PUT sets the
usage billed before the subscription came to bxb (`external_historical_usage_amount_cents`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import validation_error
from bxb.core.subscribing import shown_subscription
from bxb.core.subscriptions import plan_snapshot, query_view
from bxb.inputs.bounds import SignedCents
from bxb.ledger.lifetime_usage import current_usage_cents, lifetime_usage, set_historical_usage
from bxb.ledger.progressive import period_usage_request
from bxb.models import Organization, Plan

router = APIRouter(prefix="/api/v1", tags=["subscriptions"])


class LifetimeUsageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    external_historical_usage_amount_cents: SignedCents | None = None


class LifetimeUsageBody(BaseModel):
    lifetime_usage: LifetimeUsageIn


async def _render(
    request: Request,
    org: Organization,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    external_id: str,
) -> dict[str, Any]:
    row = await shown_subscription(session, org.id, external_id)
    if row.status != "active":  # nothing is being used: the plan it had, no current usage
        plan = await session.get(Plan, row.plan_id)
        assert plan is not None
        data = await lifetime_usage(session, row, plan_snapshot(plan), 0, datetime.now(UTC))
        return {"lifetime_usage": data}
    view = await query_view(
        await temporal.client(), row.workflow_id, wait=settings.workflow_update_timeout
    )
    state = view.state
    assert state.usage_from is not None
    assert state.period_end is not None
    now = state.clock_time or datetime.now(UTC)
    usage = period_usage_request(
        organization_id=org.id,
        customer_id=state.customer_id,
        external_customer_id=state.external_customer_id,
        external_id=external_id,
        timezone=state.timezone,
        currency=state.segment.plan.currency,
        segment_id=state.segment.lago_id,
        plan=state.segment.plan,
        usage_from=state.usage_from,
        period_end=state.period_end,
        at=now,
    )
    current = await current_usage_cents(request.app.state.event_pipeline.store, usage)
    data = await lifetime_usage(session, row, state.segment.plan, current, now)
    return {"lifetime_usage": data}


@router.get("/subscriptions/{external_id}/lifetime_usage")
async def get_lifetime_usage(
    external_id: str,
    request: Request,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    return await _render(request, org, session, temporal, settings, external_id)


@router.put("/subscriptions/{external_id}/lifetime_usage")
async def update_lifetime_usage(
    external_id: str,
    body: LifetimeUsageBody,
    request: Request,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    amount = body.lifetime_usage.external_historical_usage_amount_cents
    if amount is None:
        raise validation_error({"external_historical_usage_amount_cents": ["value_is_mandatory"]})
    if amount < 0:
        raise validation_error({"historical_usage_amount_cents": ["value_is_out_of_range"]})
    await shown_subscription(session, org.id, external_id)  # 404 before any write
    await set_historical_usage(session, org.id, external_id, amount)
    await session.commit()
    return await _render(request, org, session, temporal, settings, external_id)
