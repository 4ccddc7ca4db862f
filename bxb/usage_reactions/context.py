"""The plain data the subscription workflow hands to its usage reactions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.events.store import EventStore
from bxb.workflows.billing_requests import BillingResult
from bxb.workflows.state import Compact, PausedInterval, PlanSnapshot


class UsageContext(Compact):
    """One subscription as its workflow sees it when usage arrived."""

    organization_id: UUID
    customer_id: UUID
    external_customer_id: str
    external_id: str  # the subscription's external id (events name it)
    subscription_id: UUID  # the current segment's lago_id (the mirror row, fees)
    timezone: str
    currency: str
    plan: PlanSnapshot
    # The current billing period, and the start of the usage not billed in arrears yet.
    period_start: datetime
    period_end: datetime
    usage_from: datetime
    # The subscription's "now" (its test clock's time when it has one).
    now: datetime
    # Pauses of the subscription (the last one open while paused): events timestamped
    # inside are stored but never billed (bxb.billing.pauses.outside_pauses); the
    # workflow fills it with SubscriptionState.pauses.
    paused: list[PausedInterval] = Field(default_factory=list)


Reaction = Callable[
    [async_sessionmaker[AsyncSession], EventStore, UsageContext], Awaitable[list[BillingResult]]
]
