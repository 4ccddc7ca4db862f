"""One clock for real and simulated time; the rest of the workflow cannot tell them apart.

Real time: `now` is `workflow.now()` and waiting is a durable timer (shown in the Temporal
UI), cut short whenever a message needs attention.
Test clock: `now` is the clock's frozen time, which only moves when the API advances the
clock (an update that sets it); waiting needs no timer at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime

from temporalio import workflow

from bxb.workflows.state import SubscriptionState


class WorkflowClock:
    def __init__(self, state: Callable[[], SubscriptionState]) -> None:
        # A getter, because continue-as-new hands the workflow a new state object.
        self._state = state

    @property
    def simulated(self) -> bool:
        return self._state().test_clock_id is not None

    def now(self) -> datetime:
        clock_time = self._state().clock_time
        if self.simulated and clock_time is not None:
            return clock_time
        return workflow.now()

    async def wait(
        self, until: datetime | None, wake: Callable[[], bool], summary: str = "next due"
    ) -> None:
        """Return when `until` is reached (None: never) or `wake()` becomes true."""
        if self.simulated:

            def reached() -> bool:
                return wake() or (until is not None and self.now() >= until)

            await workflow.wait_condition(reached)
            return
        if until is None:
            await workflow.wait_condition(wake)
            return
        remaining = until - workflow.now()
        if remaining.total_seconds() <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(wake, timeout=remaining, timeout_summary=summary)
