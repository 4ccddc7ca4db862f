"""Plan usage thresholds (progressive billing) in requests, with Lago's rules and codes.

A plan's `usage_thresholds` is replaced as a whole (Lago's full update): a live threshold
with the same amount and kind keeps its id (applied thresholds of invoices point at it)
and takes the new display name; the others are soft-deleted; new ones are created.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.inputs.bounds import SignedCents, fits
from bxb.models import Plan, UsageThreshold

ThresholdName = Annotated[str, fits(UsageThreshold.threshold_display_name)]


class UsageThresholdIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    amount_cents: SignedCents | None = None
    threshold_display_name: ThresholdName | None = None
    recurring: bool | None = None


def threshold_errors(thresholds: Sequence[UsageThresholdIn] | None) -> dict[str, list[str]]:
    """Lago's codes: a missing or non-positive amount, the same amount twice, more than
    one recurring threshold; and (bxb) fixed amounts not in ascending order."""
    if not thresholds:
        return {}
    if any(t.amount_cents is None for t in thresholds):
        return {"usage_thresholds": ["missing_amount_cents"]}
    if any((t.amount_cents or 0) <= 0 for t in thresholds):
        return {"amount_cents": ["value_is_out_of_range"]}
    if sum(1 for t in thresholds if t.recurring) > 1:
        return {"usage_thresholds": ["multiple_recurring_thresholds"]}
    fixed = [t.amount_cents or 0 for t in thresholds if not t.recurring]
    if len(set(fixed)) != len(fixed):
        return {"usage_thresholds": ["duplicated_values"]}
    if fixed != sorted(fixed):
        return {"usage_thresholds": ["thresholds_not_ascending"]}
    return {}


def save_usage_thresholds(
    session: AsyncSession,
    plan: Plan,
    existing: Sequence[UsageThreshold],
    wanted: Sequence[UsageThresholdIn],
) -> None:
    """Replace the plan's live thresholds (`existing`) by `wanted` (already checked)."""
    now = datetime.now(UTC)
    live = {(t.amount_cents, t.recurring): t for t in existing}
    kept: set[uuid.UUID] = set()
    for item in wanted:
        key = (item.amount_cents or 0, bool(item.recurring))
        threshold = live.get(key)
        if threshold is None and item.recurring:
            # One recurring threshold per plan: a new amount updates it (as Lago does).
            threshold = next((t for t in existing if t.recurring), None)
        if threshold is None:
            threshold = UsageThreshold(
                id=uuid.uuid4(), organization_id=plan.organization_id, plan_id=plan.id
            )
            session.add(threshold)
        threshold.amount_cents = key[0]
        threshold.recurring = key[1]
        threshold.threshold_display_name = item.threshold_display_name
        kept.add(threshold.id)
    for threshold in existing:
        if threshold.id not in kept:
            threshold.deleted_at = now
