"""Fixed charges of a subscription's plan: which windows each transition bills.

A mixin of SubscriptionWorkflow. A period that starts bills the plan's fixed charges paid
in advance, for [start, period end); a period that ends (a close, an upgrade, a
termination) bills those paid in arrears, for the days the plan ran in it. Fixed charges
do not wait for a trial to end (Lago bills them from the start). What each window costs
is computed by the activity (units, charge model, proration) from the pinned snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bxb.billing.proration import days_between
from bxb.billing.subscription_fees import Terms, segment_period
from bxb.workflows.billing_requests import FixedFeeWindow
from bxb.workflows.state import PlanSnapshot, Segment, SubscriptionState

# Histories recorded before fixed charges existed replay without them (their plans have
# none, so they never ask for the patch either).
FIXED_CHARGES_PATCH = "fixed-charges"


class FixedCharges:
    # Provided by SubscriptionWorkflow and its other mixins.
    state: SubscriptionState

    _terms: Callable[[PlanSnapshot], Terms]
    _patched: Callable[[str], bool]

    def _fixed_window(
        self, segment: Segment, start: datetime, end: datetime, *, in_advance: bool
    ) -> FixedFeeWindow | None:
        charges = [c for c in segment.plan.fixed_charges if c.pay_in_advance is in_advance]
        if not charges or end <= start:
            return None
        terms = self._terms(segment.plan)
        period = segment_period(start, segment.started_at, terms)
        start, end = max(start, period.start), min(end, period.end)
        days = days_between(start, end, terms.tz) if start < end else 0
        if days == 0:
            return None
        return FixedFeeWindow(
            segment_id=segment.lago_id,
            plan_id=segment.plan.id,
            plan_code=segment.plan.code,
            charges=charges,
            from_datetime=start,
            to_datetime=end,
            days=days,
            full_days=period.full_days,
            plan_snapshot_id=segment.plan.snapshot_id,
        )

    def _fixed_fees(
        self,
        *,
        closing: tuple[Segment, datetime, datetime] | None = None,
        opening_at: datetime | None = None,
    ) -> list[FixedFeeWindow]:
        """Arrears fixed charges of the closing window, advance ones of the opening period
        (the state's current segment and period, from `opening_at`)."""
        s = self.state
        windows: list[FixedFeeWindow | None] = []
        if closing is not None:
            segment, start, end = closing
            windows.append(self._fixed_window(segment, start, end, in_advance=False))
        if opening_at is not None and s.period_end is not None:
            windows.append(self._fixed_window(s.segment, opening_at, s.period_end, in_advance=True))
        found = [w for w in windows if w is not None]
        if not found or not self._patched(FIXED_CHARGES_PATCH):
            return []
        return found
