"""Usage reactions inside the subscription workflow (issue 10).

A mixin of SubscriptionWorkflow. The API's watcher signals `usage_arrived` (coalesced)
when new events matter to this subscription; the signal queues one "usage" command (one
at most while it waits), which the loop processes in order like any other command: the
activity `react_to_usage` runs every reaction of `bxb.usage_reactions.registry` and
returns the invoices they created, which the workflow then finalizes and collects like
its own. The reactions also run once just before each period close or termination (a
due step of their own, so a failure is retried like any transition), and on each test
clock advance, so that a signal lost on the way changes when, never whether, usage is
reacted to. All of it is behind USAGE_PATCH: histories recorded before it replay as
they were.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from temporalio import workflow

from bxb.workflows import story
from bxb.workflows.billing_requests import BillingResult
from bxb.workflows.clock import WorkflowClock
from bxb.workflows.runtime import Due, QueuedCommand, Runtime
from bxb.workflows.state import Status, SubscriptionState

with workflow.unsafe.imports_passed_through():
    from bxb.usage_reactions.context import UsageContext

USAGE_PATCH = "usage-reactions"


class UsageReactions:
    # Provided by SubscriptionWorkflow and its other mixins.
    state: SubscriptionState
    _rt: Runtime
    clock: WorkflowClock
    _run_until_done: Callable[..., Awaitable[Any]]
    _track: Callable[[BillingResult, datetime], None]
    _patched: Callable[[str], bool]
    _small_inputs: Callable[..., bool]

    def _wants_usage_reactions(self) -> bool:
        """Does anything react to this subscription's usage? (Reactions that the plan
        announces add their condition here; the others are known by the watcher's signal.)"""
        s = self.state
        if s.status is not Status.ACTIVE:
            return False
        plan = s.segment.plan
        return (
            s.usage_signaled
            or any(c.pay_in_advance for c in plan.charges)
            or bool(plan.usage_thresholds)
        )

    def _usage_arrived(self) -> None:
        """The watcher's signal: new events matter to this subscription."""
        self.state.usage_signaled = True
        self._queue_usage()

    def _queue_usage(self) -> None:
        if self._rt.usage_queued:
            return  # one queued "usage" command serves every signal until it starts
        self._rt.usage_queued = True
        self._rt.seq += 1
        self._rt.commands.append(QueuedCommand(self._rt.seq, "usage"))

    def _usage_on_advance(self) -> None:
        """A test clock advance reacts to usage sent before it (no signal needed)."""
        if self._wants_usage_reactions() and self._patched(USAGE_PATCH):
            self._queue_usage()

    def _usage_before(self, close_at: datetime) -> list[Due]:
        """The reactions are due once just before the close at `close_at`."""
        reacted = self.state.usage_reacted_at
        if reacted is not None and reacted >= close_at:
            return []
        if not self._wants_usage_reactions() or not self._patched(USAGE_PATCH):
            return []
        return [Due(close_at, "react_to_usage")]

    async def _react_before_close(self, at: datetime) -> None:
        await self._react_to_usage(at)
        self.state.usage_reacted_at = at

    async def _react_before_change(self, now: datetime) -> None:
        """Before a plan change or a termination ends the current plan's period."""
        if self._wants_usage_reactions() and self._patched(USAGE_PATCH):
            await self._react_to_usage(now)

    async def _on_usage_command(self, now: datetime) -> None:
        self._rt.usage_queued = False  # a signal from now on queues another command
        if self._patched(USAGE_PATCH):
            await self._react_to_usage(now)

    async def _react_to_usage(self, now: datetime) -> None:
        s = self.state
        if s.status is not Status.ACTIVE:
            return
        assert s.period_start is not None
        assert s.period_end is not None
        assert s.usage_from is not None
        plan = s.segment.plan
        if self._small_inputs(plan):  # the activity reads the stored snapshot
            plan = plan.reference()
        context = UsageContext(
            organization_id=s.organization_id,
            customer_id=s.customer_id,
            external_customer_id=s.external_customer_id,
            external_id=s.external_id,
            subscription_id=s.segment.lago_id,
            timezone=s.timezone,
            currency=s.segment.plan.currency,
            plan=plan,
            period_start=s.period_start,
            period_end=s.period_end,
            usage_from=s.usage_from,
            now=now,
            paused=list(s.pauses),  # events inside a pause are not billed (pausing.py)
        )
        results: list[BillingResult] = await self._run_until_done(
            "react_to_usage",
            context,
            list[BillingResult],
            story.usage(s, now),
        )
        for result in results:  # new invoices, and any not handed over before (a retry)
            if result.invoice_id is not None:
                self._track(result, now)
