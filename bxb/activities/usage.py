"""The activity of usage reactions: run every reaction of the registry for a subscription.

Each reaction opens its own transaction(s) and is idempotent on its business key, so a
retried activity (or a repeated signal) changes nothing that was done. The invoices the
reactions created come back to the workflow, which finalizes and collects them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from bxb.activities.guard import fails_fast
from bxb.events.store import EventStore
from bxb.ledger.plan_snapshots import PlanSnapshots
from bxb.usage_reactions import registry
from bxb.usage_reactions.context import UsageContext
from bxb.workflows.billing_requests import BillingResult


class UsageActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], events: EventStore) -> None:
        self.sessions = sessions
        self.events = events
        self.snapshots = PlanSnapshots(sessions)

    @activity.defn(name="react_to_usage")
    @fails_fast
    async def react_to_usage(self, context: UsageContext) -> list[BillingResult]:
        context = await self.snapshots.hydrate_context(context)
        results: list[BillingResult] = []
        for reaction in registry.REACTIONS:
            results += await reaction(self.sessions, self.events, context)
        return results

    def all(self) -> list[Any]:
        return [self.react_to_usage]
