"""Pause and resume (issue 10; Lago has none, the lifecycle is BoxBilling's).

A mixin of SubscriptionWorkflow. A paused subscription stays in its billing cycle: its
periods keep closing on their dates, but the days it is paused are not billed (the base
fee is prorated by the days not paused) and the usage events timestamped inside a pause
are stored and not billed (its usage windows skip the paused intervals). Resuming
continues the current period.

- Pause now, or at the end of the current period (a due "pause"), with an optional
  `resume_at`: the workflow's timer resumes it then (a due "resume"). Resume now on
  request; a resume asked for while the pause is only scheduled cancels it.
- Plans paid in advance: the days of a pause that the period's advance fee paid for are
  credited (a credit note on the invoice that billed them, consumed by the next invoice)
  when the period closes, or with the unused days when the plan stops earlier. While
  paused when an advance fee falls due (period start, trial end, upgrade), it is not
  billed then but from the resume to the period's end.
- The workflow's own status stays `active`; the API, the webhooks and the Temporal UI's
  BxbSubscriptionStatus show `paused` (SubscriptionState.shown_status).

The pure day counting is in bxb/billing/pauses.py; the fees in transitions.py read the
pauses (`_base_fee_line`, `_usage`, `_advance_fee`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio.exceptions import ApplicationError

from bxb.workflows.runtime import Due
from bxb.workflows.state import (
    PausedInterval,
    PauseRequest,
    ResumeRequest,
    ScheduledPause,
    Status,
)
from bxb.workflows.transitions import Transitions

# Workflows that pause take this patch (histories before pausing existed never do).
PAUSE_PATCH = "subscription-pause-and-resume"
PAUSE_KINDS = ("pause", "resume")

# Why a pause or a resume is refused (the API's 422 codes).
TERMINATED = "subscription_is_terminated"
NOT_STARTED = "subscription_not_started"
ALREADY_PAUSED = "subscription_already_paused"
NOT_PAUSED = "subscription_not_paused"
INVALID_DATE = "invalid_date"


class Pausing(Transitions):
    # ---- validation (update validators: read only) -----------------------------------

    def _check_pause(self, request: PauseRequest) -> None:
        s = self.state
        if s.status in (Status.TERMINATED, Status.CANCELED):
            raise ValueError(TERMINATED)
        if s.status is Status.PENDING:
            raise ValueError(NOT_STARTED)
        if s.paused or s.scheduled_pause is not None:
            raise ValueError(ALREADY_PAUSED)
        start = s.period_end if request.at_period_end else self.clock.now()
        assert start is not None
        if request.resume_at is not None and request.resume_at <= start:
            raise ValueError(INVALID_DATE)

    def _check_resume(self, request: ResumeRequest) -> None:
        s = self.state
        if s.status in (Status.TERMINATED, Status.CANCELED):
            raise ValueError(TERMINATED)
        if not s.paused and s.scheduled_pause is None:
            raise ValueError(NOT_PAUSED)
        if request.resume_at is not None:
            scheduled = s.scheduled_pause
            start = s.pauses[-1].start if s.paused or scheduled is None else scheduled.at
            if request.resume_at <= max(start, self.clock.now()):
                raise ValueError(INVALID_DATE)

    # ---- what is due -----------------------------------------------------------------

    def _pause_dues(self) -> list[Due]:
        """A scheduled pause, and the timer of a paused subscription's resume."""
        s = self.state
        dues = []
        if s.scheduled_pause is not None:
            dues.append(Due(s.scheduled_pause.at, "pause"))
        if s.paused and s.resume_at is not None:
            dues.append(Due(s.resume_at, "resume"))
        return dues

    async def _on_pause_due(self, due: Due) -> None:
        if due.kind == "pause":
            scheduled = self.state.scheduled_pause
            assert scheduled is not None
            await self._start_pause(due.at, scheduled.resume_at)
        else:
            await self._resume(due.at)

    # ---- commands --------------------------------------------------------------------

    async def _on_pause(self, request: PauseRequest, now: datetime) -> None:
        self._check_again(lambda: self._check_pause(request))
        self._patched(PAUSE_PATCH)
        s = self.state
        if request.at_period_end:
            assert s.period_end is not None
            s.scheduled_pause = ScheduledPause(at=s.period_end, resume_at=request.resume_at)
            await self._record("record_subscription", "update", now, now, now, [])
            return
        await self._start_pause(now, request.resume_at)

    async def _on_resume(self, request: ResumeRequest, now: datetime) -> None:
        self._check_again(lambda: self._check_resume(request))
        s = self.state
        if request.resume_at is not None:  # a later resume: the timer does it
            if s.paused:
                s.resume_at = request.resume_at
            else:
                assert s.scheduled_pause is not None
                s.scheduled_pause.resume_at = request.resume_at
            await self._record("record_subscription", "update", now, now, now, [])
            return
        if not s.paused:  # only scheduled: the pause does not happen
            s.scheduled_pause = None
            await self._record("record_subscription", "update", now, now, now, [])
            return
        await self._resume(now)

    @staticmethod
    def _check_again(check: Callable[[], None]) -> None:
        """A command is checked again when the loop takes it: something queued before it
        (a termination, another pause) may have changed the subscription meanwhile."""
        try:
            check()
        except ValueError as exc:
            raise ApplicationError(str(exc), non_retryable=True) from exc

    # ---- transitions -----------------------------------------------------------------

    async def _start_pause(self, at: datetime, resume_at: datetime | None) -> None:
        s = self.state
        s.scheduled_pause = None
        s.pauses.append(PausedInterval(start=at))
        s.resume_at = resume_at
        await self._record("pause_subscription", "pause", at, at, at, [])
        self._upsert_search_attributes()

    async def _resume(self, at: datetime) -> None:
        """End the pause at `at`; the current period goes on. A plan paid in advance whose
        fee was not billed because it fell due during the pause is billed now, from `at`
        to the period's end."""
        s = self.state
        s.pauses[-1].end = at
        s.resume_at = None
        assert s.period_end is not None
        fees = []
        if s.advance_deferred:
            s.advance_deferred = False
            s.prepaid_from = at
            fees = self._advance_fee(at)
        await self._record("resume_subscription", "resume", at, at, s.period_end, fees)
        self._upsert_search_attributes()
