"""The current usage of a live subscription: its open period so far, priced with its
pinned plan (the workflow's state says which period and plan), and the same projected to
the period's end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
from bxb.core.together import together
from bxb.events.period_usage import period_inputs
from bxb.events.store import EventStore
from bxb.models import Subscription
from bxb.workflows.state import SubscriptionState, SubscriptionView
from bxb.workflows.subscription import workflow_id


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


class EarlyView:
    """The subscription workflow's query, sent before the rows that authorize reading it.

    A workflow's id follows from the organization and the subscription's external id, so
    its query (a round trip through Temporal to the worker, the largest part of a current
    usage request) can run while the customer and the subscription are looked up. What
    it answers is used only once those rows say the subscription is the caller's.
    """

    def __init__(self, client: Client, organization_id: uuid.UUID, external_id: str, wait: float):
        self._client, self._wait = client, wait
        self._id = workflow_id(organization_id, external_id)
        self._task = asyncio.ensure_future(query_view(client, self._id, wait=wait))

    async def of(self, row: Subscription) -> SubscriptionView:
        if row.workflow_id == self._id:
            return await self._task
        self.drop()  # a row named otherwise: ask its own workflow
        return await query_view(self._client, row.workflow_id, wait=self._wait)

    def drop(self) -> None:
        if self._task.done():
            if not self._task.cancelled():
                self._task.exception()  # seen: an unused answer's error is not an error
        else:
            self._task.cancel()
            self._task.add_done_callback(
                lambda task: task.cancelled() or task.exception()  # retrieved, not raised
            )


@asynccontextmanager
async def early_view(
    client: Client, organization_id: uuid.UUID, external_id: str, *, wait: float
) -> AsyncIterator[EarlyView]:
    """An EarlyView, dropped on the way out if no one used it (a 404, an error)."""
    view = EarlyView(client, organization_id, external_id, wait)
    try:
        yield view
    finally:
        view.drop()


async def current_usage(
    session: AsyncSession,
    events: EventStore,
    row: Subscription,
    view: EarlyView,
) -> CurrentUsage:
    """Usage of the subscription's current period so far (events during a pause are not
    billed, so not counted)."""
    # The taxes do not depend on the workflow's answer (which plan, which period): they
    # are read while it comes. The plan's own taxes are among the organization's applied
    # taxes the book reads; its `plans` only name plans by code, which is not needed here.
    answer, taxes = await together(
        view.of(row), TaxBook.load(session, row.organization_id, row.customer_id, ())
    )
    state = answer.state
    assert state.usage_from is not None
    assert state.period_end is not None
    plan = state.segment.plan
    paused = [(p.start, p.end) for p in state.pauses]
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
