"""The current usage of a live subscription: its open period so far, priced with its
pinned plan (the workflow's state says which period and plan), and the same projected to
the period's end."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from bxb.billing.periods import local_day
from bxb.billing.projection import ProjectedUsage, period_ratio, project_usage
from bxb.billing.subscription_fees import zone
from bxb.billing.usage import CustomerUsage, compute_customer_usage
from bxb.core.subscriptions import live_rows, query_view
from bxb.core.tax_book import TaxBook
from bxb.events.period_usage import period_inputs
from bxb.events.store import EventStore
from bxb.models import Subscription
from bxb.workflows.state import SubscriptionState


class NoCurrentUsageError(LookupError):
    """The customer has no active (or paused) subscription with that external id."""


@dataclass(frozen=True)
class CurrentUsage:
    usage: CustomerUsage
    state: SubscriptionState
    recurring_metric_codes: frozenset[str]

    @property
    def now(self) -> datetime:
        """The subscription's "now": its test clock's time, else the wall clock."""
        return self.state.clock_time or datetime.now(UTC)

    def projected(self) -> ProjectedUsage:
        state = self.state
        ratio = period_ratio(
            self.usage.from_datetime, self.usage.to_datetime, self.now, zone(state.timezone)
        )
        return project_usage(self.usage, ratio, self.recurring_metric_codes)


async def live_subscription(
    session: AsyncSession, organization_id: uuid.UUID, customer_id: uuid.UUID, external_id: str
) -> Subscription:
    """The customer's active (or paused) subscription row with that external id."""
    rows = [
        row
        for row in await live_rows(session, organization_id, external_id)
        if row.customer_id == customer_id and row.status in ("active", "paused")
    ]
    if not rows:
        raise NoCurrentUsageError(external_id)
    return rows[0]


async def current_usage(
    session: AsyncSession,
    events: EventStore,
    client: Client,
    row: Subscription,
    *,
    wait: float,
) -> CurrentUsage:
    """Usage of the subscription's current period so far (events during a pause are not
    billed, so not counted)."""
    view = await query_view(client, row.workflow_id, wait=wait)
    state = view.state
    assert state.usage_from is not None
    assert state.period_end is not None
    plan = state.segment.plan
    paused = [(p.start, p.end) for p in state.pauses]
    taxes = await TaxBook.load(session, row.organization_id, row.customer_id, [plan])
    charges = [charge.usage_charge(taxes.own(charge.id)) for charge in plan.charges]
    inputs = await period_inputs(
        events,
        row.organization_id,
        row.external_id,
        charges,
        state.usage_from,
        state.period_end,
        paused,
    )
    usage = compute_customer_usage(
        charges,
        inputs.events,
        state.usage_from,
        state.period_end,
        plan.currency,
        taxes=taxes.for_plan(plan),
        issuing_date=local_day(state.period_end, zone(state.timezone)),
        measured=inputs.measured,
    )
    recurring = frozenset(
        c.billable_metric.code for c in plan.charges if c.billable_metric.recurring
    )
    return CurrentUsage(usage, state, recurring)
