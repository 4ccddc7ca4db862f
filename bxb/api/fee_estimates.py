"""/api/v1/events/estimate_fees, /estimate_instant_fees and /batch_estimate_instant_fees:
the fees an event would make on pay-in-advance charges, stored nothing (read-only in the
permission matrix). The computations are in bxb.usage_reactions.estimates.

- unknown subscription (or not active): 404 `subscription_not_found`;
- no pay-in-advance charge of the metric (for the instant estimates: no standard or
  percentage one): 422 `{"code": ["does_not_match_an_instant_charge"]}`, as Lago;
- an event property that the metric reads but is not a number: 422
  `{"properties": ["value_is_invalid"]}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from bxb.api.deps import OrgDep, SessionDep, TemporalDep
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.billing.aggregation import PropertyValue
from bxb.core.subscriptions import plan_snapshot
from bxb.lago_objects.fees import fee_objects
from bxb.models import Plan
from bxb.usage_reactions.estimates import (
    EstimatedEvent,
    NoInstantChargeError,
    NoSubscriptionError,
    estimate_fees,
    instant_estimates,
    live_context,
    live_subscription,
)

router = APIRouter(prefix="/api/v1", tags=["events"])

MAX_BATCH_EVENTS = 100  # as /events/batch

Text = Annotated[str, Field(min_length=1, max_length=255)]


class EstimateEventIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: Text
    external_subscription_id: Text
    properties: dict[str, Any] | None = None
    transaction_id: Annotated[str, Field(max_length=255)] | None = None

    def estimated(self) -> EstimatedEvent:
        return EstimatedEvent(
            code=self.code,
            external_subscription_id=self.external_subscription_id,
            properties=_properties(self.properties or {}),
            transaction_id=self.transaction_id,
        )


class EstimateBody(BaseModel):
    event: EstimateEventIn


class BatchEstimateBody(BaseModel):
    events: Annotated[list[EstimateEventIn], Field(min_length=1, max_length=MAX_BATCH_EVENTS)]


def _properties(raw: Mapping[str, Any]) -> dict[str, PropertyValue]:
    """Event properties as the pricing reads them (objects and lists kept as JSON text,
    booleans as text: neither is a quantity)."""
    kept: dict[str, PropertyValue] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal | None):
            kept[key] = json.dumps(value)
        else:
            kept[key] = value
    return kept


def _not_instant() -> ApiError:
    return validation_error({"code": ["does_not_match_an_instant_charge"]})


def _bad_properties() -> ApiError:
    return validation_error({"properties": ["value_is_invalid"]})


@router.post("/events/estimate_fees")
async def estimate_event_fees(
    body: EstimateBody,
    request: Request,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> dict[str, Any]:
    """Lago's FeeObjects (no lago_id) of the fees one more event would make now."""
    event = body.event.estimated()
    try:
        row = await live_subscription(session, org.id, event.external_subscription_id)
    except NoSubscriptionError:
        raise not_found("subscription") from None
    plan = await session.get(Plan, row.plan_id)
    assert plan is not None
    if not any(
        c.pay_in_advance and c.billable_metric.code == event.code
        for c in plan_snapshot(plan).charges
    ):
        raise _not_instant()  # known without asking the workflow
    context = await live_context(await temporal.client(), row, wait=temporal.wait)
    try:
        fees = await estimate_fees(
            request.app.state.sessions,
            request.app.state.event_pipeline.store,
            context,
            event.code,
            event.properties,
        )
    except NoInstantChargeError:  # the workflow's pinned plan has none
        raise _not_instant() from None
    except ValueError:
        raise _bad_properties() from None
    return {"fees": await fee_objects(session, fees)}


async def _instant(
    session: SessionDep, org: OrgDep, events: list[EstimatedEvent], *, batch: bool
) -> dict[str, Any]:
    try:
        return {"fees": await instant_estimates(session, org.id, events, batch=batch)}
    except NoSubscriptionError:
        raise not_found("subscription") from None
    except NoInstantChargeError:
        raise _not_instant() from None
    except ValueError:
        raise _bad_properties() from None


@router.post("/events/estimate_instant_fees")
async def estimate_instant_fees(
    body: EstimateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    """Lago's FeeEstimateObjects: the event's units alone on each standard or percentage
    pay-in-advance charge of its metric."""
    return await _instant(session, org, [body.event.estimated()], batch=False)


@router.post("/events/batch_estimate_instant_fees")
async def batch_estimate_instant_fees(
    body: BatchEstimateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    """As estimate_instant_fees, for up to 100 events (grouped by subscription, as Lago)."""
    return await _instant(session, org, [e.estimated() for e in body.events], batch=True)
