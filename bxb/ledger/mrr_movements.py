"""MRR movements and trials, written in the transaction of the subscription's step.

Every step of a subscription's workflow ends in one activity transaction
(bxb.activities.subscriptions.record) with the subscription's current mirror row. This
compares the subscription's MRR after the step with its MRR after the last movement,
and writes a movement when they differ: nothing to change in the workflow, and every
transition that moves MRR (start, trial end, upgrade, downgrade taking effect at period
end, a plan's price change reaching the subscription, termination, pause, resume) is
caught where it is recorded.

Idempotent: a retried step finds its movement written (the MRR no longer differs), and
two attempts racing write the subscription's n-th movement once (unique seq). A lock per
customer and currency orders the movements of one customer's subscriptions, whose
workflows run in parallel, so that the customer-level kind (new, churn, ...) is exact.
Each movement is also added to its month's row of mrr_monthly_totals (what the dashboard
reads), in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, select, text, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.mrr import monthly_amount_cents, movement_kind
from bxb.models import MrrMonthlyTotal, MrrMovement, Plan, SubscriptionTrial
from bxb.workflows.billing_requests import BillingRequest, SubscriptionRow

ENDED = ("terminated", "canceled")


# The plan, the open trial and the last movement in one round trip. The subscription's own
# steps run one at a time (its workflow): no lock to read its last movement, and none for
# the steps (most) that move no MRR. Built once: every step of every subscription runs it.
_OPEN_TRIAL = (
    select(SubscriptionTrial.id)
    .where(
        SubscriptionTrial.organization_id == bindparam("organization_id"),
        SubscriptionTrial.external_subscription_id == bindparam("external_id"),
        SubscriptionTrial.ended_at.is_(None),
    )
    .limit(1)
    .scalar_subquery()
)
_LAST_MOVEMENT = (
    select(MrrMovement.seq, MrrMovement.mrr_after_cents, MrrMovement.plan_code_after)
    .where(
        MrrMovement.organization_id == bindparam("organization_id"),
        MrrMovement.external_subscription_id == bindparam("external_id"),
    )
    .order_by(MrrMovement.seq.desc())
    .limit(1)
    .lateral("last_movement")
)
_STEP_STATE = (
    select(
        Plan.interval,
        Plan.trial_period,
        _OPEN_TRIAL.label("open_trial_id"),
        _LAST_MOVEMENT.c.seq,
        _LAST_MOVEMENT.c.mrr_after_cents,
        _LAST_MOVEMENT.c.plan_code_after,
    )
    .select_from(Plan)
    .outerjoin(_LAST_MOVEMENT, true())
    .where(Plan.id == bindparam("plan_id"))
)


async def record_mrr(session: AsyncSession, request: BillingRequest) -> None:
    """Write the MRR movement (and trial progress) of the step `request` records."""
    if not request.rows:
        return
    row = request.rows[-1]  # the current segment
    state = (
        await session.execute(
            _STEP_STATE,
            {
                "organization_id": request.organization_id,
                "external_id": request.external_id,
                "plan_id": row.plan_id,
            },
        )
    ).one()
    trialing, converted = await _track_trial(
        session, request, row, bool(state.trial_period), state.open_trial_id
    )
    after = 0
    if row.status == "active" and not trialing:
        after = monthly_amount_cents(row.plan_amount_cents, state.interval)
    last = state if state.seq is not None else None
    before = last.mrr_after_cents if last else 0
    if before == after:
        return
    # One customer's subscriptions run in parallel workflows: take them one at a time.
    lock = f"mrr:{request.organization_id}:{request.customer_id}:{request.currency}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(lock, 0))))
    customer = (
        await session.execute(
            select(func.coalesce(func.sum(MrrMovement.delta_cents), 0), func.count()).where(
                MrrMovement.organization_id == request.organization_id,
                MrrMovement.customer_id == request.customer_id,
                MrrMovement.currency == request.currency,
            )
        )
    ).one()
    customer_before = int(customer[0])
    customer_after = customer_before + after - before
    kind = movement_kind(customer_before, customer_after, churned_before=customer[1] > 0)
    assert kind is not None  # after != before, so the customer's total moved
    statement = insert(MrrMovement).values(
        organization_id=request.organization_id,
        subscription_id=row.lago_id,
        external_subscription_id=request.external_id,
        customer_id=request.customer_id,
        currency=request.currency,
        occurred_at=request.at,
        kind=kind,
        seq=(last.seq + 1) if last else 1,
        mrr_before_cents=before,
        mrr_after_cents=after,
        delta_cents=after - before,
        customer_mrr_after_cents=customer_after,
        plan_code_before=(last.plan_code_after if last else None) if before else None,
        plan_code_after=row.plan_code if after else None,
        trial_conversion=converted and before == 0,
    )
    written = await session.scalar(
        statement.on_conflict_do_nothing(
            index_elements=["organization_id", "external_subscription_id", "seq"]
        ).returning(MrrMovement.id)
    )
    if written is not None:  # not by a racing attempt: count it in its month, once
        await _add_to_month(session, request, kind, after - before)


async def _add_to_month(
    session: AsyncSession, request: BillingRequest, kind: str, delta: int
) -> None:
    at = request.at.astimezone(UTC)
    statement = insert(MrrMonthlyTotal).values(
        organization_id=request.organization_id,
        currency=request.currency,
        month=datetime(at.year, at.month, 1, tzinfo=UTC),
        kind=kind,
        movements=1,
        delta_cents=delta,
    )
    await session.execute(
        statement.on_conflict_do_update(
            constraint="uq_mrr_monthly_totals_key",
            set_={
                "movements": MrrMonthlyTotal.movements + 1,
                "delta_cents": MrrMonthlyTotal.delta_cents + delta,
                "updated_at": func.now(),
            },
        )
    )


async def _track_trial(
    session: AsyncSession,
    request: BillingRequest,
    row: SubscriptionRow,
    plan_has_trial: bool,
    trial_id: uuid.UUID | None,
) -> tuple[bool, bool]:
    """(trialing after the step, the step converted the trial)."""
    if request.kind == "start":
        if row.status != "active" or row.trial_ended_at is not None or not plan_has_trial:
            return False, False
        statement = insert(SubscriptionTrial).values(
            organization_id=request.organization_id,
            subscription_id=row.lago_id,
            external_subscription_id=request.external_id,
            customer_id=request.customer_id,
            currency=request.currency,
            started_at=request.at,
        )
        await session.execute(
            statement.on_conflict_do_nothing(
                index_elements=["organization_id", "external_subscription_id", "started_at"]
            )
        )
        return True, False
    if trial_id is None:
        return False, False
    ended: datetime | None = None
    converted = row.trial_ended_at is not None
    if converted:
        ended = row.trial_ended_at
    elif row.status in ENDED:
        ended = request.at
    if ended is None:
        return True, False
    await session.execute(
        update(SubscriptionTrial)
        .where(SubscriptionTrial.id == trial_id)
        .values(ended_at=ended, converted_at=ended if converted else None)
    )
    return False, converted


# The rollup of one organization rebuilt from its movements (after movements are written
# by something other than record_mrr: a bulk import, a benchmark's seed; or to check it).
REBUILD_MONTHLY_TOTALS = """
DELETE FROM mrr_monthly_totals WHERE organization_id = :organization_id;
INSERT INTO mrr_monthly_totals (id, organization_id, currency, month, kind, movements, delta_cents)
SELECT gen_random_uuid(), organization_id, currency, date_trunc('month', occurred_at, 'UTC'),
    kind, count(*), sum(delta_cents)
FROM mrr_movements WHERE organization_id = :organization_id
GROUP BY organization_id, currency, date_trunc('month', occurred_at, 'UTC'), kind
"""


async def rebuild_monthly_totals(session: AsyncSession, organization_id: uuid.UUID) -> None:
    """Rebuild the organization's mrr_monthly_totals from its mrr_movements."""
    for statement in REBUILD_MONTHLY_TOTALS.split(";"):
        await session.execute(text(statement), {"organization_id": organization_id})
