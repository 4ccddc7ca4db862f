"""SubscriptionWorkflow: one long-lived workflow per subscription owns its timeline.

The main loop processes, in time order, everything due up to "now" (start, trial end,
period closes, ending_at, a scheduled downgrade) and the commands sent by the API, then
waits on the clock for the next due instant or the next message. Message handlers never do
I/O themselves: they queue a command and wait until the loop has processed it, so all
effects happen in one place, one at a time, in a deterministic order.

After each closed billing period the workflow continues as new with its state, once every
handler has finished, so histories stay short.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from bxb.billing.periods import BillingTime, Interval, trial_end
    from bxb.billing.proration import is_upgrade
    from bxb.billing.subscription_fees import (
        Terms,
        base_fee,
        charges_period,
        segment_period,
        zone,
    )
    from bxb.workflows import search_attributes
    from bxb.workflows.billing_requests import (
        PAYMENT_DECLINED,
        BaseFeeLine,
        BillingRequest,
        BillingResult,
        DunningPolicy,
        SubscriptionRow,
        UsageWindow,
    )
    from bxb.workflows.clock import WorkflowClock
    from bxb.workflows.collection import COLLECTION_KINDS, DeclinedError, InvoiceCollection
    from bxb.workflows.state import (
        AdvanceRequest,
        ChangePlanRequest,
        CreateRequest,
        InvoiceCommand,
        PaymentNotice,
        PendingDowngrade,
        PlanSnapshot,
        Segment,
        Status,
        SubscriptionState,
        SubscriptionView,
        UpdateRequest,
    )

# Billing must happen. A failing activity is retried a few times at once, then the
# workflow keeps retrying it on durable timers backing off to hourly, for as long as it
# takes, and shows the last error to the `view` query (operators, test clock advances).
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_attempts=3,
)
ACTIVITY_TIMEOUT = timedelta(minutes=2)
RETRY_BACKOFF_START = timedelta(seconds=5)
RETRY_BACKOFF_MAX = timedelta(hours=1)
R = TypeVar("R")

# Histories recorded before invoice collection existed replay without it.
COLLECTION_PATCH = "invoice-collection"
ADVANCE_WAITS_PATCH = "advance-waits-for-a-pass"


def workflow_id(organization_id: UUID, external_id: str) -> str:
    return f"subscription/{organization_id}/{external_id}"


@dataclass
class _Command:
    seq: int
    kind: str
    payload: Any = None
    done: bool = False
    error: str | None = None


@dataclass(frozen=True)
class _Due:
    at: datetime
    kind: str
    invoice_id: UUID | None = None


_DUE_ORDER = {
    "activate": 0,
    "end_trial": 1,
    "terminate": 2,
    "close_period": 3,
    "close_usage": 4,
    "finalize_invoice": 5,
    "collect_payment": 6,
}


@dataclass
class _Runtime:
    commands: list[_Command] = field(default_factory=list)
    seq: int = 0
    caught_up_to: datetime | None = None
    advancing_to: datetime | None = None
    period_closed: bool = False
    last_error: str | None = None


@workflow.defn
class SubscriptionWorkflow(InvoiceCollection):
    @workflow.init
    def __init__(self, state: SubscriptionState) -> None:
        # Set before any handler runs: after continue-as-new, a message can arrive in the
        # new run's very first task, ahead of run().
        self.state = state
        self._rt = _Runtime()
        self.clock = WorkflowClock(lambda: self.state)

    # ---- main loop -------------------------------------------------------------------

    @workflow.run
    async def run(self, state: SubscriptionState) -> SubscriptionState:
        while True:
            await self._process_until_now()
            ended = self.state.status in (Status.TERMINATED, Status.CANCELED)
            if ended and not self.state.collections:
                await workflow.wait_condition(workflow.all_handlers_finished)
                return self.state
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._should_continue_as_new():
                    workflow.continue_as_new(self.state)
            due = self._next_due()
            await self.clock.wait(due.at if due else None, wake=self._has_work)

    def _should_continue_as_new(self) -> bool:
        idle = not self._rt.commands and self._rt.advancing_to is None
        suggested = workflow.info().is_continue_as_new_suggested()
        return idle and (self._rt.period_closed or suggested)

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
                await self._on_due(due)
                continue
            if self._rt.commands:
                command = self._rt.commands[0]
                try:
                    await self._on_command(command, now)
                except ApplicationError as exc:
                    command.error = exc.message
                command.done = True
                self._rt.commands.pop(0)
                continue
            self._rt.caught_up_to = now
            if self._rt.advancing_to is not None and now >= self._rt.advancing_to:
                self._rt.advancing_to = None
            return

    def _next_due(self) -> _Due | None:
        s = self.state
        candidates: list[_Due] = []
        if s.status is Status.PENDING:
            candidates.append(_Due(s.subscription_at, "activate"))
        elif s.status is Status.ACTIVE:
            assert s.period_end is not None
            if s.trial_ends_at is not None and s.trial_ended_at is None:
                candidates.append(_Due(s.trial_ends_at, "end_trial"))
            if s.ending_at is not None and s.ending_at <= s.period_end:
                candidates.append(_Due(s.ending_at, "terminate"))
            else:
                candidates.append(_Due(s.period_end, "close_period"))
            usage_end = self._usage_window_end()
            if usage_end < s.period_end:
                candidates.append(_Due(usage_end, "close_usage"))
        for c in s.collections:
            if c.finalize_at is not None:
                candidates.append(_Due(c.finalize_at, "finalize_invoice", c.invoice_id))
            elif c.next_attempt_at is not None:
                candidates.append(_Due(c.next_attempt_at, "collect_payment", c.invoice_id))
        if not candidates:
            return None
        return min(candidates, key=lambda d: (d.at, _DUE_ORDER[d.kind]))

    async def _on_due(self, due: _Due) -> None:
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
        elif due.kind == "finalize_invoice":
            assert due.invoice_id is not None
            await self._finalize_invoice(self._collection(due.invoice_id), due.at)
        else:
            assert due.invoice_id is not None
            await self._collect(self._collection(due.invoice_id), due.at)

    async def _on_command(self, command: _Command, now: datetime) -> None:
        if command.kind == "create":
            request: CreateRequest = command.payload
            if request.plan.code != self.state.segment.plan.code:
                raise ApplicationError("subscription exists with another plan", non_retryable=True)
            if self.state.status is Status.PENDING:  # a future start: show it as pending now
                await self._record("record_subscription", "create", now, now, now, [])
        elif command.kind == "change_plan":
            await self._change_plan(command.payload, now)
        elif command.kind == "terminate":
            await self._terminate(now)
        elif command.kind == "update":
            await self._update(command.payload, now)
        elif command.kind == "finalize_invoice":
            await self._finalize_command(command.payload, now)
        elif command.kind == "retry_payment":
            await self._retry_command(command.payload, now)
        elif command.kind == "payment_notice":
            await self._on_notice(command.payload, now)

    # ---- transitions -----------------------------------------------------------------

    def _terms(self, plan: PlanSnapshot) -> Terms:
        s = self.state
        return Terms(
            interval=Interval(plan.interval),
            billing_time=BillingTime(s.billing_time),
            anchor=s.anchor,
            tz=zone(s.timezone),
            bill_charges_monthly=plan.bill_charges_monthly,
        )

    def _start_period(self, at: datetime) -> None:
        s = self.state
        period = segment_period(at, s.segment.started_at, self._terms(s.segment.plan))
        s.period_start, s.period_end = period.start, period.end

    def _begin_period(self, at: datetime) -> None:
        """A new billing period of the current plan starts at `at`; so does unbilled usage."""
        self.state.usage_from = at
        self._start_period(at)

    def _begin_segment(self, segment: Segment, at: datetime) -> None:
        """Another plan takes over at `at` (an upgrade now, a downgrade at period end)."""
        self.state.segment = segment
        self._begin_period(at)

    def _advance_fee(self, at: datetime) -> list[BaseFeeLine]:
        """The current plan's fee from `at` to the period end, when it is paid in advance."""
        s = self.state
        assert s.period_end is not None
        if not s.segment.plan.pay_in_advance:
            return []
        line = self._base_fee_line(s.segment, at, s.period_end, credit=False)
        return [line] if line else []

    def _usage_window_end(self) -> datetime:
        s = self.state
        assert s.usage_from is not None
        assert s.period_end is not None
        window = charges_period(s.usage_from, s.segment.started_at, self._terms(s.segment.plan))
        return min(window.end, s.period_end)

    def _base_fee_line(
        self, segment: Segment, window_start: datetime, window_end: datetime, *, credit: bool
    ) -> BaseFeeLine | None:
        """The base fee of segment's plan for a window of the current period, if any."""
        s = self.state
        terms = self._terms(segment.plan)
        period = segment_period(window_start, segment.started_at, terms)
        fee = base_fee(
            segment.plan.amount_cents, period, window_start, window_end, s.trial_ends_at, terms.tz
        )
        if fee.days == 0:
            return None
        return BaseFeeLine(
            segment_id=segment.lago_id,
            plan=segment.plan,
            amount_cents=fee.amount_cents,
            days=fee.days,
            full_days=fee.full_days,
            from_datetime=max(window_start, period.start),
            to_datetime=min(window_end, period.end),
            credit=credit,
        )

    def _usage(self, segment: Segment, until: datetime) -> list[UsageWindow]:
        s = self.state
        assert s.usage_from is not None
        if not segment.plan.charges or until <= s.usage_from:
            return []
        return [
            UsageWindow(
                segment_id=segment.lago_id,
                plan=segment.plan,
                from_datetime=s.usage_from,
                to_datetime=until,
            )
        ]

    async def _activate(self, at: datetime) -> None:
        s = self.state
        s.status = Status.ACTIVE
        s.started_at = at
        s.segment.started_at = at
        trial_days = s.segment.plan.trial_period_days
        if trial_days:
            s.trial_ends_at = trial_end(at, trial_days, zone(s.timezone))
        self._begin_period(at)
        assert s.period_start is not None
        assert s.period_end is not None
        fees = self._advance_fee(at)
        await self._record("start_subscription", "start", at, s.period_start, s.period_end, fees)
        self._upsert_search_attributes()

    async def _end_trial(self, at: datetime) -> None:
        s = self.state
        s.trial_ended_at = at
        assert s.period_start is not None
        assert s.period_end is not None
        fees = self._advance_fee(at)
        await self._record("end_trial", "trial_end", at, s.period_start, s.period_end, fees)

    async def _close_usage(self, at: datetime) -> None:
        """Bill usage of a monthly charges period inside a longer plan period."""
        s = self.state
        usage = self._usage(s.segment, at)
        assert s.usage_from is not None
        usage_start = s.usage_from
        s.usage_from = at
        await self._record("bill_usage", "usage", at, usage_start, at, [], usage=usage)

    async def _close_period(self, at: datetime) -> None:
        s = self.state
        assert s.period_start is not None
        closing_start = s.period_start
        old = s.segment
        fees: list[BaseFeeLine] = []
        if not old.plan.pay_in_advance:
            line = self._base_fee_line(old, closing_start, at, credit=False)
            fees += [line] if line else []
        usage = self._usage(old, at)
        extra_rows: list[SubscriptionRow] = []
        if s.downgrade is not None and s.downgrade.at <= at:
            downgrade, s.downgrade = s.downgrade, None
            self._begin_segment(
                Segment(
                    lago_id=downgrade.lago_id,
                    plan=downgrade.plan,
                    started_at=at,
                    previous_plan_code=old.plan.code,
                ),
                at,
            )
            extra_rows.append(self._row(old, Status.TERMINATED, terminated_at=at))
        else:
            self._begin_period(at)
        fees += self._advance_fee(at)
        await self._record(
            "close_period",
            "period_end",
            at,
            closing_start,
            at,
            fees,
            usage=usage,
            extra_rows=extra_rows,
            invoice_segment=old,
        )
        self._rt.period_closed = True
        self._upsert_search_attributes()

    async def _terminate(self, at: datetime) -> None:
        s = self.state
        if s.status is Status.PENDING:
            s.status = Status.CANCELED
            s.canceled_at = at
            await self._record("cancel_subscription", "cancel", at, at, at, [])
        else:
            assert s.period_start is not None
            assert s.period_end is not None
            old = s.segment
            fees = self._closing_fees(old, at)
            usage = self._usage(old, at)
            s.status = Status.TERMINATED
            s.terminated_at = at
            extra = self._cancel_downgrade()
            await self._record(
                "terminate_subscription",
                "termination",
                at,
                s.period_start,
                at,
                fees,
                usage=usage,
                extra_rows=extra,
            )
        self._upsert_search_attributes()

    def _closing_fees(self, segment: Segment, at: datetime) -> list[BaseFeeLine]:
        """Fees of a plan that stops at `at`: days used (arrears) or days unused (credit)."""
        s = self.state
        assert s.period_start is not None
        assert s.period_end is not None
        if segment.plan.pay_in_advance:
            line = self._base_fee_line(segment, at, s.period_end, credit=True)
        else:
            line = self._base_fee_line(segment, s.period_start, at, credit=False)
        return [line] if line else []

    def _cancel_downgrade(self) -> list[SubscriptionRow]:
        s = self.state
        if s.downgrade is None:
            return []
        pending = Segment(
            lago_id=s.downgrade.lago_id, plan=s.downgrade.plan, started_at=s.downgrade.at
        )
        s.downgrade = None
        return [self._row(pending, Status.CANCELED, canceled_at=self.clock.now())]

    async def _change_plan(self, request: ChangePlanRequest, at: datetime) -> None:
        s = self.state
        if request.name is not None:
            s.name = request.name
        if request.plan.code == s.segment.plan.code:
            return
        if s.status is Status.PENDING:
            s.segment = Segment(
                lago_id=s.segment.lago_id, plan=request.plan, started_at=s.subscription_at
            )
            await self._record("record_subscription", "update", at, at, at, [])
            return
        old_plan, new_plan = s.segment.plan, request.plan
        upgrade = is_upgrade(
            old_plan.amount_cents,
            Interval(old_plan.interval),
            new_plan.amount_cents,
            Interval(new_plan.interval),
        )
        if not upgrade:
            assert s.period_end is not None
            extra = self._cancel_downgrade()
            s.downgrade = PendingDowngrade(
                lago_id=request.new_lago_id, plan=new_plan, at=s.period_end
            )
            pending = Segment(lago_id=request.new_lago_id, plan=new_plan, started_at=s.period_end)
            extra.append(self._row(pending, Status.PENDING))
            await self._record("schedule_downgrade", "downgrade", at, at, at, [], extra_rows=extra)
            return
        await self._upgrade(request, at)

    async def _upgrade(self, request: ChangePlanRequest, at: datetime) -> None:
        """An upgrade applies at once: close the old plan for its days, start the new one."""
        s = self.state
        assert s.period_start is not None
        old = s.segment
        closing_start = s.period_start
        fees = self._closing_fees(old, at)
        usage = self._usage(old, at)
        extra = [*self._cancel_downgrade(), self._row(old, Status.TERMINATED, terminated_at=at)]
        self._begin_segment(
            Segment(
                lago_id=request.new_lago_id,
                plan=request.plan,
                started_at=at,
                previous_plan_code=old.plan.code,
            ),
            at,
        )
        fees += self._advance_fee(at)
        await self._record(
            "change_plan",
            "plan_change",
            at,
            closing_start,
            at,
            fees,
            usage=usage,
            extra_rows=extra,
            invoice_segment=old,
        )
        self._upsert_search_attributes()

    async def _update(self, request: UpdateRequest, at: datetime) -> None:
        s = self.state
        if request.name is not None:
            s.name = request.name
        if request.clear_ending_at:
            s.ending_at = None
        elif request.ending_at is not None:
            s.ending_at = request.ending_at
        await self._record("record_subscription", "update", at, at, at, [])

    # ---- recording -------------------------------------------------------------------

    def _row(
        self, segment: Segment, status: Status, **instants: datetime | None
    ) -> SubscriptionRow:
        s = self.state
        current = segment.lago_id == s.segment.lago_id
        downgrade = s.downgrade if current else None
        return SubscriptionRow(
            lago_id=segment.lago_id,
            organization_id=s.organization_id,
            customer_id=s.customer_id,
            external_customer_id=s.external_customer_id,
            external_id=s.external_id,
            plan_id=segment.plan.id,
            plan_code=segment.plan.code,
            plan_amount_cents=segment.plan.amount_cents,
            plan_amount_currency=segment.plan.currency,
            name=s.name,
            status=status.value,
            billing_time=s.billing_time,
            subscription_at=s.subscription_at,
            started_at=segment.started_at if status is not Status.PENDING else None,
            trial_ended_at=s.trial_ended_at,
            ending_at=s.ending_at,
            previous_plan_code=segment.previous_plan_code,
            next_plan_code=downgrade.plan.code if downgrade else None,
            downgrade_plan_date=downgrade.at if downgrade else None,
            current_billing_period_started_at=s.period_start if current else None,
            current_billing_period_ending_at=s.period_end if current else None,
            workflow_id=workflow.info().workflow_id,
            **instants,
        )

    def _current_row(self) -> SubscriptionRow:
        s = self.state
        return self._row(
            s.segment, s.status, terminated_at=s.terminated_at, canceled_at=s.canceled_at
        )

    async def _record(
        self,
        activity: str,
        kind: str,
        at: datetime,
        period_start: datetime,
        period_end: datetime,
        fees: list[BaseFeeLine],
        *,
        usage: list[UsageWindow] | None = None,
        extra_rows: list[SubscriptionRow] | None = None,
        invoice_segment: Segment | None = None,
    ) -> None:
        s = self.state
        request = BillingRequest(
            kind=kind,
            at=at,
            organization_id=s.organization_id,
            customer_id=s.customer_id,
            external_customer_id=s.external_customer_id,
            external_id=s.external_id,
            timezone=s.timezone,
            currency=s.segment.plan.currency,
            invoice_segment_id=(invoice_segment or s.segment).lago_id,
            invoice_period_start=period_start,
            invoice_period_end=period_end,
            base_fees=fees,
            usage=usage or [],
            rows=[*(extra_rows or []), self._current_row()],
        )
        result = await self._run_until_done(
            activity, request, BillingResult, f"{kind} at {at.isoformat()}"
        )
        if result.invoice_id is not None:
            s.invoices_created += 1
            if self._patched(COLLECTION_PATCH):
                self._track(result, at)

    async def _run_until_done(
        self,
        activity: str,
        request: Any,
        result_type: type[R],
        summary: str,
        retry_policy: RetryPolicy = ACTIVITY_RETRY,
        heartbeat_timeout: timedelta | None = None,
    ) -> R:
        """Run an activity until it succeeds (they are idempotent, so retries are safe).

        Regular (not local) activities, so that the history names each step of the story
        (`temporal workflow show` lists close_period, change_plan, ...); local activities,
        measured, made the billing cycle no faster and show only as markers.
        """
        backoff = RETRY_BACKOFF_START
        while True:
            try:
                result: R = await workflow.execute_activity(
                    activity,
                    request,
                    result_type=result_type,
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=retry_policy,
                    heartbeat_timeout=heartbeat_timeout,
                    summary=summary,
                )
            except FailureError as err:
                # ActivityError wraps the activity's own failure: report the innermost message
                # (a local activity would raise that failure directly).
                cause: BaseException = err
                while isinstance(cause, ActivityError) and cause.cause is not None:
                    cause = cause.cause
                if isinstance(cause, ApplicationError) and cause.type == PAYMENT_DECLINED:
                    raise DeclinedError(DunningPolicy.model_validate(cause.details[0])) from err
                self._rt.last_error = f"{activity} failed: {getattr(cause, 'message', cause)}"
                workflow.logger.warning("%s; retrying in %s", self._rt.last_error, backoff)
                await workflow.sleep(backoff, summary=f"retry {activity}")
                backoff = min(backoff * 2, RETRY_BACKOFF_MAX)
                continue
            self._rt.last_error = None
            return result

    def _patched(self, patch_id: str) -> bool:
        """workflow.patched, remembered in the state: a run continued from a patched run is
        patched too, and does not record the marker again (one history event per run saved)."""
        if patch_id in self.state.patches:
            return True
        if workflow.patched(patch_id):
            self.state.patches.append(patch_id)
            return True
        return False

    def _upsert_search_attributes(self) -> None:
        """Keep the plan and status operators filter on current (only when they change)."""
        s = self.state
        current = workflow.info().typed_search_attributes
        wanted = {
            search_attributes.PLAN_CODE: s.segment.plan.code,
            search_attributes.SUBSCRIPTION_STATUS: s.status.value,
        }
        updates = [
            key.value_set(value) for key, value in wanted.items() if current.get(key) != value
        ]
        if updates:
            workflow.upsert_search_attributes(updates)

    # ---- messages --------------------------------------------------------------------

    async def _submit(self, kind: str, payload: Any = None) -> SubscriptionView:
        self._rt.seq += 1
        command = _Command(self._rt.seq, kind, payload)
        self._rt.commands.append(command)
        await workflow.wait_condition(lambda: command.done)
        if command.error is not None:
            raise ApplicationError(command.error, type="InvalidRequest", non_retryable=True)
        return self.view()

    def _require_live(self) -> None:
        if self.state.status in (Status.TERMINATED, Status.CANCELED):
            raise ValueError(f"subscription is {self.state.status.value}")

    @workflow.update
    async def create(self, request: CreateRequest) -> SubscriptionView:
        """Sent with update-with-start: answers once the start (if due) is processed."""
        return await self._submit("create", request)

    @workflow.update
    async def change_plan(self, request: ChangePlanRequest) -> SubscriptionView:
        return await self._submit("change_plan", request)

    @change_plan.validator
    def _validate_change_plan(self, request: ChangePlanRequest) -> None:
        self._require_live()
        if request.plan.currency != self.state.segment.plan.currency:
            raise ValueError("the new plan's currency differs from the subscription's")

    @workflow.update
    async def terminate(self) -> SubscriptionView:
        return await self._submit("terminate")

    @terminate.validator
    def _validate_terminate(self) -> None:
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
    async def advance_clock(self, request: AdvanceRequest) -> SubscriptionView:
        """Test clocks: move "now" and return once everything due until then is done."""
        self.state.clock_time = request.to
        self._rt.advancing_to = request.to
        if self._patched(ADVANCE_WAITS_PATCH):
            # Wait for one whole pass of the loop, even when the clock does not move, so
            # that messages sent before the advance (a payment notice) are handled by then.
            self._rt.caught_up_to = None
        await workflow.wait_condition(
            lambda: self._rt.caught_up_to is not None and self._rt.caught_up_to >= request.to
        )
        return self.view()

    @advance_clock.validator
    def _validate_advance(self, request: AdvanceRequest) -> None:
        if not self.clock.simulated:
            raise ValueError("this subscription is not on a test clock")
        clock_time = self.state.clock_time
        if clock_time is not None and request.to < clock_time:
            raise ValueError("a test clock only moves forward")

    @workflow.update
    async def finalize_invoice(self, command: InvoiceCommand) -> SubscriptionView:
        """Finalize a draft now, before its grace period ends (then collect it)."""
        return await self._submit("finalize_invoice", command)

    @workflow.update
    async def retry_payment(self, command: InvoiceCommand) -> SubscriptionView:
        """Attempt payment now (counts as an attempt of the dunning campaign)."""
        return await self._submit("retry_payment", command)

    @workflow.signal
    def payment_notice(self, notice: PaymentNotice) -> None:
        """The API's news: an invoice was paid, failed at the provider, or voided."""
        self._rt.seq += 1
        self._rt.commands.append(_Command(self._rt.seq, "payment_notice", notice))

    @workflow.query
    def view(self) -> SubscriptionView:
        return SubscriptionView(
            state=self.state, caught_up_to=self._rt.caught_up_to, last_error=self._rt.last_error
        )
