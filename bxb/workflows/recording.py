"""Recording a subscription's transitions through activities: mirror rows and invoices.

A mixin of SubscriptionWorkflow. `_record` asks one activity to write what a transition
changed (and to bill it when there is anything to bill); `_run_until_done` runs an activity
until it succeeds, retrying transient errors on durable timers. An error the activity
reports as non-retryable (data the ledger cannot hold) is raised as PermanentActivityError: the
loop then restores the state as it was before the step (see SubscriptionWorkflow._step).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, RetryState

from bxb.workflows import search_attributes, story
from bxb.workflows.billing_requests import (
    PAYMENT_DECLINED,
    BaseFeeLine,
    BillingRequest,
    BillingResult,
    DunningPolicy,
    FixedFeeWindow,
    SubscriptionRow,
    UsageWindow,
)
from bxb.workflows.collection import DeclinedError
from bxb.workflows.heartbeats import HEARTBEAT_TIMEOUT
from bxb.workflows.runtime import Runtime
from bxb.workflows.state import PlanSnapshot, Segment, Status, SubscriptionState

# Billing must happen. A failing activity is retried a few times at once, then the
# workflow keeps retrying it on durable timers backing off to hourly, for as long as it
# takes, and shows the last error to the `view` query (operators, test clock advances).
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_attempts=3,
)
# Every activity heartbeats (bxb.activities.guard), so a dead worker's attempt is retried
# elsewhere within the heartbeat timeout; the start-to-close timeout only bounds a live
# attempt that takes too long (a very large usage aggregation is still allowed).
ACTIVITY_TIMEOUT = timedelta(minutes=10)
ACTIVITY_HEARTBEAT = HEARTBEAT_TIMEOUT
RETRY_BACKOFF_START = timedelta(seconds=5)
RETRY_BACKOFF_MAX = timedelta(hours=1)
R = TypeVar("R")

# Histories recorded before invoice collection existed replay without it.
COLLECTION_PATCH = "invoice-collection"
# Issue 13: activity inputs name stored plan snapshots by key instead of carrying them
# whole (plan snapshots pinned by the API since then have a snapshot_id).
SMALL_INPUTS_PATCH = "small-activity-inputs"
# Operators find subscriptions whose billing is stalled by this search attribute.
BILLING_ERROR_LENGTH = 250


class PermanentActivityError(Exception):
    """An activity failed with an error no retry can fix; the message says which and why."""


class Recording:
    # Provided by SubscriptionWorkflow and its other mixins.
    state: SubscriptionState
    _rt: Runtime
    _track: Callable[[BillingResult, datetime], None]

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
            **(_pause_fields(s) if current else {}),
            workflow_id=workflow.info().workflow_id,
            **instants,
        )

    def _current_row(self) -> SubscriptionRow:
        s = self.state
        row = self._row(
            s.segment, s.status, terminated_at=s.terminated_at, canceled_at=s.canceled_at
        )
        if s.shown_status != row.status:
            row.status = s.shown_status  # paused (pausing.py)
        return row

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
        fixed: list[FixedFeeWindow] | None = None,
    ) -> None:
        s = self.state
        usage, fixed = usage or [], fixed or []
        stored_fixed = [w for w in fixed if w.plan_snapshot_id is not None]
        if self._small_inputs(*(b.plan for b in fees), *(w.plan for w in usage)) or (
            stored_fixed and self._patched(SMALL_INPUTS_PATCH)
        ):
            fees = [b.model_copy(update={"plan": _reference(b.plan)}) for b in fees]
            usage = [w.model_copy(update={"plan": _reference(w.plan)}) for w in usage]
            fixed = [_fixed_reference(w) for w in fixed]
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
            usage=usage,
            fixed_fees=fixed,
            rows=[*(extra_rows or []), self._current_row()],
        )
        summary = story.transition(kind, s, at, period_start, invoice_segment or s.segment)
        result = await self._run_until_done(activity, request, BillingResult, summary)
        s.recorded = True
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
        heartbeat_timeout: timedelta = ACTIVITY_HEARTBEAT,
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
                message = f"{activity} failed: {getattr(cause, 'message', cause)}"
                if _non_retryable(err, cause):
                    raise PermanentActivityError(message) from err
                self._rt.last_error = message
                workflow.logger.warning("%s; retrying in %s", self._rt.last_error, backoff)
                await workflow.sleep(backoff, summary=f"retry {activity}")
                backoff = min(backoff * 2, RETRY_BACKOFF_MAX)
                continue
            self._rt.last_error = None
            return result

    def _show_billing_error(self, message: str | None) -> None:
        """Set (or clear) the search attribute of a stalled subscription."""
        key = search_attributes.BILLING_ERROR
        current = workflow.info().typed_search_attributes.get(key)
        wanted = None if message is None else message[:BILLING_ERROR_LENGTH]
        if current != wanted:
            update = key.value_unset() if wanted is None else key.value_set(wanted)
            workflow.upsert_search_attributes([update])

    def _patched(self, patch_id: str) -> bool:
        """workflow.patched, remembered in the state: a run continued from a patched run is
        patched too, and does not record the marker again (one history event per run saved)."""
        if patch_id in self.state.patches:
            return True
        if workflow.patched(patch_id):
            self.state.patches.append(patch_id)
            return True
        return False

    def _small_inputs(self, *plans: PlanSnapshot) -> bool:
        """Whether activity inputs name the plans by key: stored ones among them, and the
        patch taken (snapshots without a key are still sent whole, see `_reference`)."""
        stored = [p for p in plans if p.snapshot_id is not None]
        return bool(stored) and self._patched(SMALL_INPUTS_PATCH)

    def _upsert_search_attributes(self) -> None:
        """Keep the plan and status operators filter on current (only when they change)."""
        s = self.state
        current = workflow.info().typed_search_attributes
        wanted = {
            search_attributes.PLAN_CODE: s.segment.plan.code,
            search_attributes.SUBSCRIPTION_STATUS: s.shown_status,
        }
        updates = [
            key.value_set(value) for key, value in wanted.items() if current.get(key) != value
        ]
        if updates:
            workflow.upsert_search_attributes(updates)


def _reference(plan: PlanSnapshot) -> PlanSnapshot:
    return plan.reference() if plan.snapshot_id is not None else plan


def _fixed_reference(window: FixedFeeWindow) -> FixedFeeWindow:
    if window.plan_snapshot_id is None:
        return window
    ids = [c.id for c in window.charges]
    return window.model_copy(update={"charges": [], "charge_ids": ids})


def _pause_fields(s: SubscriptionState) -> dict[str, datetime | None]:
    """The current segment's pause, as the mirror shows it (pausing.py)."""
    if s.status is not Status.ACTIVE:
        return {}
    scheduled = s.scheduled_pause
    return {
        "paused_at": s.pauses[-1].start if s.paused else None,
        "resume_at": s.resume_at if s.paused else (scheduled.resume_at if scheduled else None),
        "scheduled_pause_at": scheduled.at if scheduled else None,
    }


def _non_retryable(err: FailureError, cause: BaseException) -> bool:
    if isinstance(err, ActivityError) and err.retry_state is RetryState.NON_RETRYABLE_FAILURE:
        return True
    return isinstance(cause, ApplicationError) and cause.non_retryable
