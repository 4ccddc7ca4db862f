"""Plan changes made with ``cascade_updates`` reaching a running subscription.

A mixin of SubscriptionWorkflow. A subscription pins a snapshot of its plan; editing the
plan changes nothing for it, unless the change is made with ``cascade_updates`` (Lago's
flag). The API then sends each live subscription on the plan (or on a child plan that
took the change) the plan's new snapshot; the workflow keeps it and takes it when the
next period starts, so the period in progress is billed at the prices it started with,
and a scheduled downgrade to the plan starts with the new snapshot. A subscription's own
override (PUT /subscriptions/{id}/charges/{code}) names the plan it replaces and is taken
at once, as Lago bills the period in progress with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bxb.workflows.state import RefreshPlanRequest, Status, SubscriptionState

# Histories recorded before plan refreshes existed never received one; the marker tells
# a replay that this run did.
PLAN_REFRESH_PATCH = "plan-refresh"


class PlanRefresh:
    # Provided by SubscriptionWorkflow and its other mixins.
    state: SubscriptionState
    _patched: Callable[[str], bool]
    _record: Callable[..., Awaitable[None]]

    async def _refresh_plan(self, request: RefreshPlanRequest, at: datetime) -> None:
        s = self.state
        if not self._patched(PLAN_REFRESH_PATCH):  # pragma: no cover - new runs are patched
            return
        if request.replaces is not None:
            # An override of this subscription's plan: billed from now on, as in Lago (what
            # was billed in advance for the period stays as it was).
            if s.segment.plan.id == request.replaces:
                s.segment = s.segment.model_copy(update={"plan": request.plan})
                s.plan_refresh = None
                await self._record("record_subscription", "update", at, at, at, [])
            return
        if s.downgrade is not None and s.downgrade.plan.id == request.plan.id:
            s.downgrade.plan = request.plan
        if s.segment.plan.id == request.plan.id:
            if s.status is Status.PENDING:  # not started: it starts with the new snapshot
                s.segment = s.segment.model_copy(update={"plan": request.plan})
                await self._record("record_subscription", "update", at, at, at, [])
            else:
                s.plan_refresh = request.plan

    def _take_plan_refresh(self) -> None:
        """At a period start: the current plan's newest snapshot, if one came."""
        s = self.state
        if s.plan_refresh is not None:
            if s.plan_refresh.id == s.segment.plan.id:
                # A new object: the closing period's segment keeps the prices it began with.
                s.segment = s.segment.model_copy(update={"plan": s.plan_refresh})
            s.plan_refresh = None
