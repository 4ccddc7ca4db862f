"""The coupons an invoice preview applies: those named in the request, else the customer's.

A named coupon is the organization's coupon of that code when there is one, else the terms
given inline (Lago lets a preview try a coupon that does not exist yet). Nothing is
consumed: the preview only reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.errors import not_found, validation_error
from bxb.api.schemas.invoices import PreviewCouponIn
from bxb.billing import coupons as pure
from bxb.ledger.coupons import applied_coupons
from bxb.models import BillableMetric, Coupon, Plan


async def _target_codes(
    session: AsyncSession, coupon: Coupon
) -> tuple[frozenset[str], frozenset[str]]:
    """Codes of the plans and billable metrics a coupon is limited to."""
    plan_ids = {t.plan_id for t in coupon.targets if t.plan_id}
    metric_ids = {t.billable_metric_id for t in coupon.targets if t.billable_metric_id}
    plans: set[str] = set()
    metrics: set[str] = set()
    if plan_ids:
        plans |= set(await session.scalars(select(Plan.code).where(Plan.id.in_(plan_ids))))
    if metric_ids:
        query = select(BillableMetric.code).where(BillableMetric.id.in_(metric_ids))
        metrics |= set(await session.scalars(query))
    return frozenset(plans), frozenset(metrics)


def _applied(
    index: int,
    code: str,
    coupon_type: str,
    frequency: str,
    at: datetime,
    *,
    amount_cents: int | None,
    amount_currency: str | None,
    percentage_rate: object,
    frequency_duration: int | None,
    plan_codes: frozenset[str] = frozenset(),
    metric_codes: frozenset[str] = frozenset(),
) -> pure.AppliedCoupon:
    try:
        return pure.AppliedCoupon(
            id=f"preview-{index}",
            coupon_code=code,
            coupon_type=pure.CouponType(coupon_type),
            frequency=pure.CouponFrequency(frequency),
            created_at=at,
            amount_cents=amount_cents,
            amount_currency=amount_currency,
            percentage_rate=None if percentage_rate is None else Decimal(str(percentage_rate)),
            frequency_duration=frequency_duration,
            plan_codes=plan_codes,
            billable_metric_codes=metric_codes,
        )
    except pure.CouponError as exc:
        raise validation_error(exc.errors) from None


async def requested_coupons(
    session: AsyncSession,
    organization_id: uuid.UUID,
    wanted: Sequence[PreviewCouponIn],
    at: datetime,
) -> list[pure.AppliedCoupon]:
    result = []
    for index, entry in enumerate(wanted):
        coupon = await session.scalar(
            select(Coupon).where(
                Coupon.organization_id == organization_id,
                Coupon.code == entry.code,
                Coupon.deleted_at.is_(None),
            )
        )
        if coupon is not None:
            plans, metrics = await _target_codes(session, coupon)
            result.append(
                _applied(
                    index,
                    coupon.code,
                    coupon.coupon_type,
                    coupon.frequency,
                    at,
                    amount_cents=coupon.amount_cents,
                    amount_currency=coupon.amount_currency,
                    percentage_rate=coupon.percentage_rate,
                    frequency_duration=coupon.frequency_duration,
                    plan_codes=plans,
                    metric_codes=metrics,
                )
            )
        elif entry.coupon_type is None:
            raise not_found("coupon")
        else:
            result.append(
                _applied(
                    index,
                    entry.code,
                    entry.coupon_type,
                    "recurring" if entry.frequency_duration else "once",
                    at,
                    amount_cents=entry.amount_cents,
                    amount_currency=entry.amount_currency,
                    percentage_rate=entry.percentage_rate,
                    frequency_duration=entry.frequency_duration,
                )
            )
    return result


async def customer_coupons(
    session: AsyncSession, customer_id: uuid.UUID
) -> list[pure.AppliedCoupon]:
    """The customer's active applied coupons, oldest first (as an invoice would use them)."""
    return [
        pure_coupon for _, pure_coupon in await applied_coupons(session, customer_id, lock=False)
    ]
