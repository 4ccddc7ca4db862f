"""The customer's applied coupons, as billing/ reads them, and their consumption."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing import coupons as pure_coupons
from bxb.billing.invoice import AssembledInvoice
from bxb.models import AppliedCoupon, BillableMetric, Plan

CouponPair = tuple[AppliedCoupon, pure_coupons.AppliedCoupon]


async def applied_coupons(
    session: AsyncSession, customer_id: uuid.UUID, *, lock: bool = True
) -> list[CouponPair]:
    """Active applied coupons, oldest first; locked until the invoice is written (a
    preview, which consumes nothing, reads them without a lock)."""
    query = (
        select(AppliedCoupon)
        .where(AppliedCoupon.customer_id == customer_id, AppliedCoupon.status == "active")
        .order_by(AppliedCoupon.created_at, AppliedCoupon.id)
    )
    rows = await session.scalars(query.with_for_update(of=AppliedCoupon) if lock else query)
    applied = list(rows)
    plan_ids = {t.plan_id for row in applied for t in row.coupon.targets if t.plan_id}
    metric_ids = {
        t.billable_metric_id for row in applied for t in row.coupon.targets if t.billable_metric_id
    }
    codes: dict[uuid.UUID, str] = {}
    if plan_ids:
        codes |= dict(
            (
                await session.execute(select(Plan.id, Plan.code).where(Plan.id.in_(plan_ids)))
            ).tuples()
        )
    if metric_ids:
        metrics = select(BillableMetric.id, BillableMetric.code).where(
            BillableMetric.id.in_(metric_ids)
        )
        codes |= dict((await session.execute(metrics)).tuples())
    return [(row, _pure_coupon(row, codes)) for row in applied]


def _pure_coupon(row: AppliedCoupon, codes: dict[uuid.UUID, str]) -> pure_coupons.AppliedCoupon:
    coupon = row.coupon
    return pure_coupons.AppliedCoupon(
        id=str(row.id),
        coupon_code=coupon.code,
        coupon_type=pure_coupons.CouponType(coupon.coupon_type),
        frequency=pure_coupons.CouponFrequency(row.frequency),
        created_at=row.created_at,
        amount_cents=row.amount_cents,
        amount_currency=row.amount_currency,
        percentage_rate=row.percentage_rate,
        frequency_duration=row.frequency_duration,
        frequency_duration_remaining=row.frequency_duration_remaining,
        amount_cents_remaining=row.amount_cents_remaining,
        expiration_at=coupon.expiration_at,
        plan_codes=frozenset(codes[t.plan_id] for t in coupon.targets if t.plan_id),
        billable_metric_codes=frozenset(
            codes[t.billable_metric_id] for t in coupon.targets if t.billable_metric_id
        ),
    )


def consume_coupons(applied: list[CouponPair], assembled: AssembledInvoice, at: datetime) -> None:
    """Write back what a final invoice used of each coupon (remaining amount, periods)."""
    updated = {d.applied_coupon_id: d.updated for d in assembled.coupons}
    for row, pure in applied:
        after = updated.get(pure.id)
        if after is None:
            continue
        row.amount_cents_remaining = after.amount_cents_remaining
        row.frequency_duration_remaining = after.frequency_duration_remaining
        if after.status is pure_coupons.AppliedCouponStatus.TERMINATED:
            row.status = "terminated"
            row.terminated_at = row.terminated_at or at
