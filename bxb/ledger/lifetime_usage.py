"""A subscription's lifetime usage (Lago's LifetimeUsageObject) and its historical part.

historical (set by the API) + invoiced (charge fees of its period invoices, every plan it
had) + current (the usage of the open period so far, priced as its invoice will price
it, before what progressive invoices billed) is what progressive billing checks the
plan's thresholds against.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.progressive import completions
from bxb.events.store import EventStore
from bxb.lago_objects.usage_thresholds import lifetime_usage_object
from bxb.ledger.invoicing import Invoicing
from bxb.ledger.progressive import (
    historical_usage_cents,
    invoiced_usage_cents,
    reached_levels,
    thresholds_of,
    usage_cents,
)
from bxb.models import LifetimeUsage, Subscription
from bxb.workflows.billing_requests import BillingRequest
from bxb.workflows.state import PlanSnapshot


def lifetime_usage_id(organization_id: uuid.UUID, external_id: str) -> uuid.UUID:
    """Stable before the row exists (the row is written by the first PUT)."""
    return uuid.uuid5(organization_id, f"lifetime_usage:{external_id}")


async def set_historical_usage(
    session: AsyncSession, organization_id: uuid.UUID, external_id: str, amount_cents: int
) -> None:
    statement = insert(LifetimeUsage).values(
        id=lifetime_usage_id(organization_id, external_id),
        organization_id=organization_id,
        external_subscription_id=external_id,
        historical_usage_amount_cents=amount_cents,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["organization_id", "external_subscription_id"],
            set_={
                "historical_usage_amount_cents": amount_cents,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )


async def current_usage_cents(events: EventStore, request: BillingRequest) -> int:
    """The usage of `request` (ledger.progressive.period_usage_request) priced."""
    return usage_cents(await Invoicing(events).usage_lines(request))


async def lifetime_usage(
    session: AsyncSession,
    row: Subscription,
    plan: PlanSnapshot,
    current_cents: int,
    now: datetime,
) -> dict[str, Any]:
    """Lago's LifetimeUsageObject of the subscription whose current segment is `row`."""
    org, external_id = row.organization_id, row.external_id
    historical = await historical_usage_cents(session, org, external_id)
    invoiced = await invoiced_usage_cents(session, org, external_id)
    thresholds = thresholds_of(plan)
    lines = None
    if thresholds:
        segments = list(
            await session.scalars(
                select(Subscription.id).where(
                    Subscription.organization_id == org, Subscription.external_id == external_id
                )
            )
        )
        reached = await reached_levels(session, org, segments)
        lines = completions(thresholds, historical + invoiced + current_cents, reached, now)
    return lifetime_usage_object(
        lago_id=lifetime_usage_id(org, external_id),
        lago_subscription_id=row.id,
        external_subscription_id=external_id,
        historical_cents=historical,
        invoiced_cents=invoiced,
        current_cents=current_cents,
        from_datetime=row.subscription_at,
        to_datetime=now,
        completions=lines,
    )
