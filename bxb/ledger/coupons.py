"""The customer's applied coupons, as billing/ reads them, and their consumption."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing import coupons as pure_coupons
from bxb.billing.invoice import AssembledInvoice
from bxb.ledger.billing_parties import active_coupons, may_hold
from bxb.models import AppliedCoupon, BillableMetric, CouponCredit, Invoice, Plan

CouponPair = tuple[AppliedCoupon, pure_coupons.AppliedCoupon]


async def applied_coupons(
    session: AsyncSession, customer_id: uuid.UUID, *, lock: bool = True
) -> list[CouponPair]:
    """Active applied coupons, oldest first; locked until the invoice is written (a
    preview, which consumes nothing, reads them without a lock)."""
    if lock and not may_hold(session, customer_id, "coupons"):
        return []
    query = (
        select(AppliedCoupon)
        .where(*active_coupons(customer_id))
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
        plans = await session.execute(select(Plan.id, Plan.code).where(Plan.id.in_(plan_ids)))
        codes |= {row.id: row.code for row in plans}
    if metric_ids:
        metrics = select(BillableMetric.id, BillableMetric.code).where(
            BillableMetric.id.in_(metric_ids)
        )
        codes |= {row.id: row.code for row in await session.execute(metrics)}
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


def consume_coupons(
    session: AsyncSession,
    applied: list[CouponPair],
    assembled: AssembledInvoice,
    invoice: Invoice,
    at: datetime,
) -> None:
    """Write back what a final invoice used of each coupon (remaining amount, periods),
    and record what each took off the invoice (its coupon credit)."""
    updated = {d.applied_coupon_id: d for d in assembled.coupons}
    for row, pure in applied:
        discount = updated.get(pure.id)
        if discount is None:
            continue
        after = discount.updated
        row.amount_cents_remaining = after.amount_cents_remaining
        row.frequency_duration_remaining = after.frequency_duration_remaining
        if after.status is pure_coupons.AppliedCouponStatus.TERMINATED:
            row.status = "terminated"
            row.terminated_at = row.terminated_at or at
        session.add(
            CouponCredit(
                organization_id=invoice.organization_id,
                invoice=invoice,
                applied_coupon_id=row.id,
                amount_cents=discount.discount_cents,
                amount_currency=invoice.currency,
            )
        )


async def recredit_voided_invoice(session: AsyncSession, invoice: Invoice, at: datetime) -> None:
    """Give each coupon back what the voided invoice took of it (Lago's
    AppliedCoupons::RecreditService): the amount of a once coupon, a period of a recurring
    one, and a coupon the invoice used up is active again (unless it is a forever coupon
    or the coupon itself was terminated)."""
    rows = await session.execute(
        select(CouponCredit, AppliedCoupon)
        .join(AppliedCoupon, AppliedCoupon.id == CouponCredit.applied_coupon_id)
        .where(CouponCredit.invoice_id == invoice.id)
        .order_by(CouponCredit.created_at, CouponCredit.id)
        .with_for_update(of=AppliedCoupon)
    )
    for credit, applied in rows:
        if applied.frequency == "once" and applied.amount_cents_remaining is not None:
            applied.amount_cents_remaining += credit.amount_cents
        if applied.frequency == "recurring" and applied.frequency_duration_remaining is not None:
            applied.frequency_duration_remaining += 1
        reusable = applied.frequency != "forever" and applied.coupon.status != "terminated"
        if applied.status == "terminated" and reusable:
            applied.status = "active"
            applied.terminated_at = None
        applied.updated_at = at
