"""Current MRR and ARR per currency, counts of subscriptions and customers.

MRR is the sum of the recorded movements' deltas (each subscription's MRR starts at 0, so
the deltas of its movements add up to its MRR now); the sum up to an instant is the MRR
at that instant. Read from the movements' monthly rollup (mrr_monthly_totals).
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.models import Customer, MrrMonthlyTotal, Subscription, SubscriptionTrial

KINDS_JOINING = ("new", "reactivation")


async def current_mrr_by_currency(
    session: AsyncSession, organization_id: uuid.UUID
) -> dict[str, int]:
    """MRR now, in cents, per currency the organization has ever had MRR in."""
    rows = await session.execute(
        select(MrrMonthlyTotal.currency, func.sum(MrrMonthlyTotal.delta_cents))
        .where(MrrMonthlyTotal.organization_id == organization_id)
        .group_by(MrrMonthlyTotal.currency)
        .order_by(MrrMonthlyTotal.currency)
    )
    return {currency: int(total) for currency, total in rows.all()}


async def subscription_counts(session: AsyncSession, organization_id: uuid.UUID) -> dict[str, int]:
    """Subscriptions now: `active` (paying: active and past any trial), `trialing` (active,
    in their free trial), `paused` (paused: no MRR while paused)."""
    trialing = await session.scalar(
        select(func.count())
        .select_from(SubscriptionTrial)
        .join(
            Subscription,
            (Subscription.organization_id == SubscriptionTrial.organization_id)
            & (Subscription.external_id == SubscriptionTrial.external_subscription_id),
        )
        .where(
            SubscriptionTrial.organization_id == organization_id,
            SubscriptionTrial.ended_at.is_(None),
            Subscription.status == "active",
        )
    )
    rows = await session.execute(
        select(Subscription.status, func.count())
        .where(
            Subscription.organization_id == organization_id,
            Subscription.status.in_(("active", "paused")),
        )
        .group_by(Subscription.status)
    )
    by_status = {status: int(n) for status, n in rows.all()}
    trialing = int(trialing or 0)
    return {
        "active": by_status.get("active", 0) - trialing,
        "trialing": trialing,
        "paused": by_status.get("paused", 0),
    }


async def customer_counts(session: AsyncSession, organization_id: uuid.UUID) -> dict[str, object]:
    """Customers now: `customers` (not deleted) and `paying_customers` per currency (those
    with MRR in it)."""
    total = await session.scalar(
        select(func.count())
        .select_from(Customer)
        .where(Customer.organization_id == organization_id, Customer.deleted_at.is_(None))
    )
    # A customer's MRR in a currency rises from zero only by `new` or `reactivation` and
    # falls to zero only by `churn`: paying customers = those counts' balance.
    rollup = MrrMonthlyTotal
    joined = func.coalesce(func.sum(rollup.movements).filter(rollup.kind.in_(KINDS_JOINING)), 0)
    left = func.coalesce(func.sum(rollup.movements).filter(rollup.kind == "churn"), 0)
    rows = await session.execute(
        select(rollup.currency, joined - left)
        .where(rollup.organization_id == organization_id)
        .group_by(rollup.currency)
        .order_by(rollup.currency)
    )
    paying = {currency: int(n) for currency, n in rows.all()}
    return {"customers": int(total or 0), "paying_customers": paying}
