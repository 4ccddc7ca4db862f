"""SubscriptionWorkflow: one long-lived workflow per subscription owns its timeline.

The main loop processes, in time order, everything due up to "now" (start, trial end,
period closes, ending_at, a scheduled downgrade) and the commands sent by the API, then
waits on the clock for the next due instant or the next message. Message handlers never do
I/O themselves: they queue a command and wait until the loop has processed it, so all
effects happen in one place, one at a time, in a deterministic order.

Each command and each due transition is one step. A step that fails with an error no
retry can fix (bad data, a date out of range) is undone: a command is refused with the
reason, a due transition is tried again later while updates are refused (it "stalls").
Transient errors are retried inside the step, on durable timers (recording.py).

The workflow continues as new with its state, once every handler has finished, after
twelve closed billing periods (a year of monthly ones) or when Temporal suggests it, so
histories stay short; runs recorded before patch continue-as-new-every-12-periods did
so after every closed period, which cost each invoice a new run. Transitions are in
transitions.py, recording through activities in recording.py, invoice collection in
collection.py, steps and their failures in steps.py, usage reactions in usage.py, pause and
resume in pausing.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from bxb.workflows import story
    from bxb.workflows.clock import WorkflowClock
    from bxb.workflows.collection import COLLECTION_KINDS, InvoiceCollection
    from bxb.workflows.fixed_charges import FIXED_CHARGES_PATCH
    from bxb.workflows.pausing import PAUSE_KINDS, Pausing
    from bxb.workflows.plan_refresh import PLAN_REFRESH_PATCH
    from bxb.workflows.recording import COLLECTION_PATCH, SMALL_INPUTS_PATCH
    from bxb.workflows.runtime import (
        DUE_ORDER,
        Due,
        Failure,
        QueuedCommand,
        Runtime,
    )
    from bxb.workflows.state import (
        REQUEST_EXPIRED,
        AdvanceRequest,
        ChangePlanRequest,
        CreateRequest,
        InvoiceCommand,
        PauseRequest,
        PaymentNotice,
        PlanSnapshot,
        RefreshPlanRequest,
        ResumeRequest,
        Status,
        SubscriptionState,
        SubscriptionView,
        TerminateRequest,
        UpdateRequest,
    )
    from bxb.workflows.steps import Steps
    from bxb.workflows.transitions import BACKDATING_PATCH, LATE_START_PATCH
    from bxb.workflows.usage import USAGE_PATCH, UsageReactions

ADVANCE_WAITS_PATCH = "advance-waits-for-a-pass"
# Issue 14: a run holds up to this many closed periods instead of one (each invoice had
# cost a new run: its first workflow task, the whole state as input, twice).
FEWER_RUNS_PATCH = "continue-as-new-every-12-periods"
PERIODS_PER_RUN = 12
# The patches of a subscription's ordinary life: a new one starts with them taken
# (SubscriptionState.patches), as workflow.patched would answer in a new workflow anyway,
# without a marker (and its search attribute upsert) in the history for each: six events at
# its first period close. PAUSE_PATCH is left out: its marker shows that a run paused.
CURRENT_PATCHES = (
    BACKDATING_PATCH,
    LATE_START_PATCH,
    COLLECTION_PATCH,
    USAGE_PATCH,
    FIXED_CHARGES_PATCH,
    PLAN_REFRESH_PATCH,
    SMALL_INPUTS_PATCH,
    ADVANCE_WAITS_PATCH,
    FEWER_RUNS_PATCH,
)
EXPIRED_MESSAGE = "the caller stopped waiting before the subscription could take this request"


def workflow_id(organization_id: UUID, external_id: str) -> str:
    return f"subscription/{organization_id}/{external_id}"


@workflow.defn
class SubscriptionWorkflow(Pausing, InvoiceCollection, UsageReactions, Steps):
    @workflow.init
    def __init__(self, state: SubscriptionState) -> None:
        # Set before any handler runs: after continue-as-new, a message can arrive in the
        # new run's very first task, ahead of run().
        self.state = state
        self._rt = Runtime()
        self.clock = WorkflowClock(lambda: self.state)

    # ---- main loop -------------------------------------------------------------------

    @workflow.run
    async def run(self, state: SubscriptionState) -> SubscriptionState:
        while True:
            await self._process_until_now()
            ended = self.state.status in (Status.TERMINATED, Status.CANCELED)
            if self._rt.start_failed is not None or (ended and not self.state.collections):
                await workflow.wait_condition(workflow.all_handlers_finished)
                return self.state
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._should_continue_as_new():
                    workflow.continue_as_new(self.state)
            due = self._next_due()
            summary = story.waiting(due.kind if due else None, due.at if due else None, self.state)
            await self.clock.wait(due.at if due else None, wake=self._has_work, summary=summary)

    def _should_continue_as_new(self) -> bool:
        idle = not self._rt.commands and self._rt.advancing_to is None
        if not idle:
            return False
        if workflow.info().is_continue_as_new_suggested():
            return True
        if not self._rt.period_closed:
            return False
        if self._patched(FEWER_RUNS_PATCH):
            return self._rt.periods_closed >= PERIODS_PER_RUN
        return True

    def _has_work(self) -> bool:
        return bool(self._rt.commands) or self._rt.advancing_to is not None

    async def _process_until_now(self) -> None:
        while True:
            now = self.clock.now()
            due = self._next_due()
            # Collection (finalizing, charging) waits for queued commands: an API call is
            # never kept waiting on a payment provider.
            deferred = due is not None and due.kind in COLLECTION_KINDS and self._rt.commands
            if due is not None and due.at <= now and not deferred:
                failure = await self._step(due.kind, self._on_due(due))
                if failure is None:
                    self._end_stall()
                elif not self.state.recorded:
                    self._fail_start(failure)
                    return
                else:
                    await self._stall(due, failure)
                continue
            if self._rt.commands:
                command = self._rt.commands[0]
                if command.expired(workflow.now()):
                    command.finish(Failure(EXPIRED_MESSAGE, REQUEST_EXPIRED))
                else:
                    failure = await self._step(command.kind, self._on_command(command, now))
                    if failure is not None and not self.state.recorded:
                        self._fail_start(failure)
                        return
                    command.finish(failure)
                self._rt.commands.pop(0)
                continue
            self._end_stall()  # whatever stalled is no longer due (an invoice was voided)
            self._rt.caught_up_to = now
            if self._rt.advancing_to is not None and now >= self._rt.advancing_to:
                self._rt.advancing_to = None
            return

    # ---- what is due ----------------------------------------------------------------

    def _next_due(self) -> Due | None:
        s = self.state
        candidates: list[Due] = []
        if s.status is Status.PENDING:
            candidates.append(Due(s.subscription_at, "activate"))
        elif s.status is Status.ACTIVE:
            assert s.period_end is not None
            if s.trial_ends_at is not None and s.trial_ended_at is None:
                candidates.append(Due(s.trial_ends_at, "end_trial"))
            if s.ending_at is not None and s.ending_at <= s.period_end:
                close = Due(s.ending_at, "terminate")
            else:
                close = Due(s.period_end, "close_period")
            candidates += [close, *self._usage_before(close.at)]
            usage_end = self._usage_window_end()
            if usage_end < s.period_end:
                candidates.append(Due(usage_end, "close_usage"))
            candidates += self._pause_dues()
        for c in s.collections:
            if c.finalize_at is not None:
                candidates.append(Due(c.finalize_at, "finalize_invoice", c.invoice_id))
            elif c.next_attempt_at is not None:
                candidates.append(Due(c.next_attempt_at, "collect_payment", c.invoice_id))
        if not candidates:
            return None
        return min(candidates, key=lambda d: (d.at, DUE_ORDER[d.kind]))

    async def _on_due(self, due: Due) -> None:
        if due.kind == "activate":
            await self._activate(due.at)
        elif due.kind == "end_trial":
            await self._end_trial(due.at)
        elif due.kind == "terminate":
            await self._terminate(due.at)
        elif due.kind == "close_period":
            await self._close_period(due.at)
        elif due.kind == "close_usage":
            await self._close_usage(due.at)
        elif due.kind in PAUSE_KINDS:
            await self._on_pause_due(due)
        elif due.kind == "react_to_usage":
            await self._react_before_close(due.at)
        elif due.kind == "finalize_invoice":
            assert due.invoice_id is not None
            await self._finalize_invoice(self._collection(due.invoice_id), due.at)
        else:
            assert due.invoice_id is not None
            await self._collect(self._collection(due.invoice_id), due.at)

    async def _on_command(self, command: QueuedCommand, now: datetime) -> None:
        if command.kind == "create":
            request: CreateRequest = command.payload
            if request.plan.code != self.state.segment.plan.code:
                raise ApplicationError("subscription exists with another plan", non_retryable=True)
            if self.state.status is Status.PENDING:  # a future start: show it as pending now
                await self._record("record_subscription", "create", now, now, now, [])
        elif command.kind == "change_plan":
            await self._react_before_change(now)
            await self._change_plan(command.payload, now)
        elif command.kind == "terminate":
            await self._react_before_change(now)
            await self._terminate(now)
        elif command.kind == "update":
            await self._update(command.payload, now)
        elif command.kind == "refresh_plan":
            await self._refresh_plan(command.payload, now)
        elif command.kind == "finalize_invoice":
            await self._finalize_command(command.payload, now)
        elif command.kind == "retry_payment":
            await self._retry_command(command.payload, now)
        elif command.kind == "payment_notice":
            await self._on_notice(command.payload, now)
        elif command.kind == "pause":
            await self._on_pause(command.payload, now)
        elif command.kind == "resume":
            await self._on_resume(command.payload, now)
        elif command.kind == "usage":
            await self._on_usage_command(now)

    # ---- messages --------------------------------------------------------------------

    async def _submit(self, kind: str, payload: Any = None) -> SubscriptionView:
        self._rt.seq += 1
        command = QueuedCommand(self._rt.seq, kind, payload, accepted_at=workflow.now())
        self._rt.commands.append(command)
        await workflow.wait_condition(lambda: command.done)
        if command.failure is not None:
            failure = command.failure
            raise ApplicationError(failure.message, type=failure.type, non_retryable=True)
        return self._answer()

    def _require_live(self) -> None:
        self._require_taking_requests()
        if self.state.status in (Status.TERMINATED, Status.CANCELED):
            raise ValueError(f"subscription is {self.state.status.value}")

    @workflow.update
    async def create(self, request: CreateRequest) -> SubscriptionView:
        """Sent with update-with-start: answers once the start (if due) is processed."""
        return await self._submit("create", request)

    @create.validator
    def _validate_create(self, request: CreateRequest) -> None:
        self._require_taking_requests()

    @workflow.update
    async def change_plan(self, request: ChangePlanRequest) -> SubscriptionView:
        return await self._submit("change_plan", request)

    @change_plan.validator
    def _validate_change_plan(self, request: ChangePlanRequest) -> None:
        self._require_live()
        if request.plan.currency != self.state.segment.plan.currency:
            raise ValueError("the new plan's currency differs from the subscription's")

    @workflow.update
    async def terminate(self, request: TerminateRequest | None = None) -> SubscriptionView:
        return await self._submit("terminate", request)

    @terminate.validator
    def _validate_terminate(self, request: TerminateRequest | None = None) -> None:
        self._require_live()

    @workflow.update
    async def update(self, request: UpdateRequest) -> SubscriptionView:
        return await self._submit("update", request)

    @update.validator
    def _validate_update(self, request: UpdateRequest) -> None:
        self._require_live()
        if request.ending_at is not None and request.ending_at < self.clock.now():
            raise ValueError("ending_at is in the past")

    @workflow.update
    async def refresh_plan(self, request: RefreshPlanRequest) -> SubscriptionView:
        return await self._submit("refresh_plan", request)

    @refresh_plan.validator
    def _validate_refresh_plan(self, request: RefreshPlanRequest) -> None:
        self._require_live()

    @workflow.update
    async def pause(self, request: PauseRequest) -> SubscriptionView:
        return await self._submit("pause", request)

    @pause.validator
    def _validate_pause(self, request: PauseRequest) -> None:
        self._require_taking_requests()
        self._check_pause(request)

    @workflow.update
    async def resume(self, request: ResumeRequest) -> SubscriptionView:
        return await self._submit("resume", request)

    @resume.validator
    def _validate_resume(self, request: ResumeRequest) -> None:
        self._require_taking_requests()
        self._check_resume(request)

    @workflow.update
    async def advance_clock(self, request: AdvanceRequest) -> SubscriptionView:
        """Test clocks: move "now" and return once everything due until then is done."""
        self._usage_on_advance()
        self.state.clock_time = request.to
        self._rt.advancing_to = request.to
        if self._patched(ADVANCE_WAITS_PATCH):
            # Wait for one whole pass of the loop, even when the clock does not move, so
            # that messages sent before the advance (a payment notice) are handled by then.
            self._rt.caught_up_to = None

        def caught_up() -> bool:
            return self._rt.caught_up_to is not None and self._rt.caught_up_to >= request.to

        # A stalled transition answers now, naming its error, rather than at the API's bound.
        await workflow.wait_condition(lambda: caught_up() or self._rt.stall is not None)
        if not caught_up():
            self._require_taking_requests()
        return self._answer()

    @advance_clock.validator
    def _validate_advance(self, request: AdvanceRequest) -> None:
        self._require_taking_requests()
        if not self.clock.simulated:
            raise ValueError("this subscription is not on a test clock")
        clock_time = self.state.clock_time
        if clock_time is not None and request.to < clock_time:
            raise ValueError("a test clock only moves forward")

    @workflow.update
    async def finalize_invoice(self, command: InvoiceCommand) -> SubscriptionView:
        """Finalize a draft now, before its grace period ends (then collect it)."""
        return await self._submit("finalize_invoice", command)

    @finalize_invoice.validator
    def _validate_finalize_invoice(self, command: InvoiceCommand) -> None:
        self._require_taking_requests()

    @workflow.update
    async def retry_payment(self, command: InvoiceCommand) -> SubscriptionView:
        """Attempt payment now (counts as an attempt of the dunning campaign)."""
        return await self._submit("retry_payment", command)

    @retry_payment.validator
    def _validate_retry_payment(self, command: InvoiceCommand) -> None:
        self._require_taking_requests()

    @workflow.signal
    def payment_notice(self, notice: PaymentNotice) -> None:
        """The API's news: an invoice was paid, failed at the provider, or voided."""
        self._rt.seq += 1
        self._rt.commands.append(QueuedCommand(self._rt.seq, "payment_notice", notice))

    @workflow.signal
    def usage_arrived(self) -> None:
        """The watcher's news (coalesced): new events matter to this subscription."""
        self._usage_arrived()

    def _answer(self) -> SubscriptionView:
        """What an update answers (recorded in the history): the view, with its stored
        plan snapshots named by key (the `view` query gives them whole)."""
        view = self.view()
        s = view.state
        if not any(p.snapshot_id for p in _plans(s)):
            return view
        segment = s.segment.model_copy(update={"plan": _reference(s.segment.plan)})
        downgrade = s.downgrade and s.downgrade.model_copy(
            update={"plan": _reference(s.downgrade.plan)}
        )
        refresh = s.plan_refresh and _reference(s.plan_refresh)
        state = s.model_copy(
            update={"segment": segment, "downgrade": downgrade, "plan_refresh": refresh}
        )
        return view.model_copy(update={"state": state})

    @workflow.query
    def view(self) -> SubscriptionView:
        return SubscriptionView(
            state=self.state, caught_up_to=self._rt.caught_up_to, last_error=self._rt.last_error
        )


def _plans(s: SubscriptionState) -> list[PlanSnapshot]:
    plans = [s.segment.plan, s.plan_refresh, s.downgrade.plan if s.downgrade else None]
    return [p for p in plans if p is not None]


def _reference(plan: PlanSnapshot) -> PlanSnapshot:
    return plan.reference() if plan.snapshot_id is not None else plan
