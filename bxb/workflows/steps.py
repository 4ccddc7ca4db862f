"""How the subscription workflow runs one step (a due transition or a command), and what
it does when a step fails for good (a mixin of SubscriptionWorkflow).

A step that fails with an error no retry can fix is undone: the state is put back as it
was before it. A command is refused with the reason; a due transition "stalls": it is
tried again after a backoff while updates are refused, its error shown in the query and
the BxbBillingError search attribute.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from bxb.workflows.recording import (
    RETRY_BACKOFF_MAX,
    RETRY_BACKOFF_START,
    PermanentActivityError,
)
from bxb.workflows.runtime import SIGNAL_KINDS, Due, Failure, Runtime, Stall
from bxb.workflows.state import REQUEST_REFUSED, SUBSCRIPTION_STALLED, SubscriptionState


class Steps:
    # Provided by SubscriptionWorkflow and its other mixins.
    state: SubscriptionState
    _rt: Runtime
    _show_billing_error: Callable[[str | None], None]

    async def _step(self, name: str, work: Coroutine[Any, Any, None]) -> Failure | None:
        """A due transition or a command, as one unit. When it fails with an error that no
        retry can fix, the state is put back as it was before the step, and the failure is
        returned. (Activities are idempotent on business keys: if an earlier activity of
        the step wrote something, doing the step again finds it.)"""
        snapshot = self.state.model_copy(deep=True)
        try:
            await work
        except PermanentActivityError as exc:
            message = str(exc)
        except ApplicationError as exc:  # a command refused by the workflow's own rules
            message = exc.message
        except (ValueError, ArithmeticError) as exc:  # billing arithmetic out of its range
            message = f"{name} failed: {exc}"
        else:
            return None
        # What the step does not own stays as it is now: a test clock advance may have moved
        # the clock meanwhile, and patches taken are recorded in the history for good.
        snapshot.clock_time = self.state.clock_time
        snapshot.patches = self.state.patches
        self.state = snapshot
        return Failure(message, REQUEST_REFUSED)

    async def _stall(self, due: Due, failure: Failure) -> None:
        """A due transition failed for good: billing must still happen, so it is tried again
        from scratch after a backoff (up to hourly), its error is shown (`view`, the
        BxbBillingError search attribute), and updates are refused meanwhile rather than
        kept waiting behind it. Time order is kept: nothing later happens first."""
        stall = self._rt.stall or Stall(failure.message, RETRY_BACKOFF_START)
        stall.message = failure.message
        self._rt.stall = stall
        self._rt.last_error = failure.message
        self._refuse_waiting(Failure(failure.message, SUBSCRIPTION_STALLED))
        self._show_billing_error(failure.message)
        workflow.logger.warning("%s; trying again in %s", failure.message, stall.backoff)
        await workflow.sleep(stall.backoff, summary=f"retry {due.kind}")
        stall.backoff = min(stall.backoff * 2, RETRY_BACKOFF_MAX)

    def _end_stall(self) -> None:
        if self._rt.stall is not None:
            self._rt.stall = None
            self._rt.last_error = None
        self._show_billing_error(None)  # also after continue-as-new (no-op when unset)

    def _refuse_waiting(self, failure: Failure) -> None:
        """Answer every queued update with failure (signals stay queued, in order)."""
        for command in self._rt.commands:
            if command.kind not in SIGNAL_KINDS:
                command.finish(failure)
        self._rt.commands = [c for c in self._rt.commands if not c.done]

    def _fail_start(self, failure: Failure) -> None:
        """Nothing was ever recorded and the start failed: the subscription never existed.
        Its create is refused with the reason, and the workflow ends (the same external_id
        can be created again)."""
        self._rt.start_failed = failure
        self._rt.last_error = failure.message
        for command in self._rt.commands:
            command.finish(failure)
        self._rt.commands = []

    def _require_taking_requests(self) -> None:
        if self._rt.start_failed is not None:
            failure = self._rt.start_failed
            raise ApplicationError(failure.message, type=failure.type, non_retryable=True)
        if self._rt.stall is not None:
            raise ApplicationError(
                self._rt.stall.message, type=SUBSCRIPTION_STALLED, non_retryable=True
            )
