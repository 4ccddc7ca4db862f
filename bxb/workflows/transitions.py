"""A subscription's transitions: start, trial end, period and usage closes, plan changes,
updates and termination.

A mixin of SubscriptionWorkflow. Each transition changes the state (periods, segments,
status) and records itself through one activity (`Recording._record`), which writes the
mirror rows and bills what is due. The fees are computed here from the pure core.
"""

from __future__ import annotations

from datetime import datetime

from bxb.billing.pauses import base_fee_without_pauses, clipped, paused_days
from bxb.billing.periods import BillingPeriod, BillingTime, Interval, local_day, trial_end
from bxb.billing.proration import is_upgrade, prorate
from bxb.billing.subscription_fees import Terms, charges_period, segment_period, zone
from bxb.workflows.billing_requests import (
    BaseFeeLine,
    FixedFeeWindow,
    SubscriptionRow,
    UsageWindow,
)
from bxb.workflows.clock import WorkflowClock
from bxb.workflows.fixed_charges import FixedCharges
from bxb.workflows.plan_refresh import PlanRefresh
from bxb.workflows.recording import Recording
from bxb.workflows.state import (
    ChangePlanRequest,
    PausedInterval,
    PendingDowngrade,
    PlanSnapshot,
    Segment,
    Status,
    UpdateRequest,
)

# Workflows that started on an earlier day before this rule billed every past period.
BACKDATING_PATCH = "backdated-start-bills-current-period"
# Workflows that started a pending subscription late before this rule treated it as
# backdated (its first period was never billed).
LATE_START_PATCH = "pending-start-reached-late-is-billed"


class Transitions(Recording, FixedCharges, PlanRefresh):
    # Provided by SubscriptionWorkflow.
    clock: WorkflowClock

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
        # Pauses over by then are billed (not billed) for good.
        self.state.pauses = [p for p in self.state.pauses if p.end is None or p.end > at]

    def _begin_segment(self, segment: Segment, at: datetime) -> None:
        """Another plan takes over at `at` (an upgrade now, a downgrade at period end)."""
        self.state.segment = segment
        self._begin_period(at)

    def _advance_fee(self, at: datetime) -> list[BaseFeeLine]:
        """The current plan's fee from `at` to the period end, when it is paid in advance.

        Nothing while a trial runs: the days after it are billed once, when it ends
        (`_end_trial`), whether the trial began at the start, an upgrade or a period close.
        """
        s = self.state
        assert s.period_end is not None
        if not s.segment.plan.pay_in_advance:
            return []
        if s.trial_ends_at is not None and s.trial_ended_at is None and s.trial_ends_at > at:
            return []
        if s.paused:  # billed from the resume instead (pausing.py)
            s.advance_deferred = True
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
        """The base fee of segment's plan for a window of the current period, if any.

        Paused days are not billed; unused prepaid days (credit) include the paused days
        before the window that the plan's advance fee paid for.
        """
        s = self.state
        terms = self._terms(segment.plan)
        period = segment_period(window_start, segment.started_at, terms)
        fee = base_fee_without_pauses(
            segment.plan.amount_cents,
            period,
            window_start,
            window_end,
            s.trial_ends_at,
            terms.tz,
            [] if credit else self._pause_spans(),
        )
        line = None
        if fee.days > 0:
            line = BaseFeeLine(
                segment_id=segment.lago_id,
                plan=segment.plan,
                amount_cents=fee.amount_cents,
                days=fee.days,
                full_days=fee.full_days,
                from_datetime=max(window_start, period.start),
                to_datetime=min(window_end, period.end),
                credit=credit,
            )
        if credit:
            return self._with_paused_credit(line, segment, period, window_start)
        return line

    def _pause_spans(self) -> list[tuple[datetime, datetime | None]]:
        return [(p.start, p.end) for p in self.state.pauses]

    def _with_paused_credit(
        self, line: BaseFeeLine | None, segment: Segment, period: BillingPeriod, until: datetime
    ) -> BaseFeeLine | None:
        """line (unused prepaid days, or None) plus the paused days of period before
        `until` that the plan's advance fee paid for: one credit per billed fee."""
        s = self.state
        if not s.pauses or s.advance_deferred:  # deferred: nothing was prepaid
            return line
        start = period.start
        if s.prepaid_from is not None and s.prepaid_from > start:
            start = s.prepaid_from  # billed from a resume
        if s.trial_ends_at is not None and s.trial_ends_at > start:
            start = s.trial_ends_at
        tz = zone(s.timezone)
        parts = clipped(self._pause_spans(), start, min(until, period.end))
        days = paused_days(parts, start, until, tz) if parts else 0
        if days == 0:
            return line
        total = days + (line.days if line else 0)
        return BaseFeeLine(
            segment_id=segment.lago_id,
            plan=segment.plan,
            amount_cents=prorate(segment.plan.amount_cents, total, period.full_days),
            days=total,
            full_days=period.full_days,
            from_datetime=parts[0][0],
            to_datetime=line.to_datetime if line else parts[-1][1],
            credit=True,
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
                paused=[
                    PausedInterval(start=lo, end=hi)
                    for lo, hi in clipped(self._pause_spans(), s.usage_from, until)
                ],
            )
        ]

    async def _activate(self, at: datetime) -> None:
        s = self.state
        now = self.clock.now()
        tz = zone(s.timezone)
        backdated = local_day(at, tz) < local_day(now, tz)
        if backdated and s.recorded and self._patched(LATE_START_PATCH):
            # Recorded as pending before its start: a future start reached late (a test
            # clock jumped past it, the worker was down), not a backdated one. It bills
            # its start, and the loop then closes each period due since, in order.
            backdated = False
        backdated = backdated and self._patched(BACKDATING_PATCH)
        s.status = Status.ACTIVE
        s.started_at = at
        s.segment.started_at = at
        trial_days = s.segment.plan.trial_period_days
        if trial_days:
            s.trial_ends_at = trial_end(at, trial_days, tz)
        if backdated:
            self._begin_backdated(at, now)
            fees: list[BaseFeeLine] = []
            fixed: list[FixedFeeWindow] = []
        else:
            self._begin_period(at)
            fees = self._advance_fee(at)
            fixed = self._fixed_fees(opening_at=at)
        assert s.period_start is not None
        assert s.period_end is not None
        await self._record(
            "start_subscription", "start", at, s.period_start, s.period_end, fees, fixed=fixed
        )
        self._upsert_search_attributes()

    def _begin_backdated(self, at: datetime, now: datetime) -> None:
        """A start on an earlier day than today, as in Lago: the subscription is active from
        `at`, but nothing before the current period is billed, and no start invoice is
        issued; the current period (and its usage) is billed when it closes."""
        s = self.state
        terms = self._terms(s.segment.plan)
        period = segment_period(now, at, terms)
        s.period_start, s.period_end = period.start, period.end
        s.usage_from = charges_period(now, at, terms).start
        if s.trial_ends_at is not None and s.trial_ends_at <= now:
            s.trial_ended_at = s.trial_ends_at  # a trial over before today is not billed

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
        elif s.pauses:  # the paused days the period's advance fee paid for
            period = segment_period(closing_start, old.started_at, self._terms(old.plan))
            credit = self._with_paused_credit(None, old, period, at)
            fees += [credit] if credit else []
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
            self._take_plan_refresh()
            self._begin_period(at)
        fees += self._advance_fee(at)
        fixed = self._fixed_fees(closing=(old, closing_start, at), opening_at=at)
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
            fixed=fixed,
        )
        self._rt.period_closed = True
        self._rt.periods_closed += 1
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
            fixed = self._fixed_fees(closing=(old, s.period_start, at))
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
                fixed=fixed,
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
        fixed = self._fixed_fees(closing=(old, closing_start, at), opening_at=at)
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
            fixed=fixed,
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
