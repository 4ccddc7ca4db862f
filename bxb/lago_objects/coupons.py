"""Lago's CouponObject and AppliedCouponObject."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.lago_objects.formats import decimal_string, iso
from bxb.models import AppliedCoupon, Coupon, CouponCredit, Invoice


def coupon_object(
    coupon: Coupon, plan_codes: Sequence[str], billable_metric_codes: Sequence[str]
) -> dict[str, Any]:
    return {
        "lago_id": str(coupon.id),
        "name": coupon.name,
        "code": coupon.code,
        "description": coupon.description,
        "coupon_type": coupon.coupon_type,
        "amount_cents": coupon.amount_cents,
        "amount_currency": coupon.amount_currency,
        "percentage_rate": decimal_string(coupon.percentage_rate),
        "frequency": coupon.frequency,
        "frequency_duration": coupon.frequency_duration,
        "expiration": coupon.expiration,
        "expiration_at": iso(coupon.expiration_at),
        "reusable": coupon.reusable,
        "limited_plans": bool(plan_codes),
        "plan_codes": list(plan_codes),
        "limited_billable_metrics": bool(billable_metric_codes),
        "billable_metric_codes": list(billable_metric_codes),
        "created_at": iso(coupon.created_at),
        "terminated_at": iso(coupon.terminated_at),
    }


def applied_coupon_object(applied: AppliedCoupon, external_customer_id: str) -> dict[str, Any]:
    coupon = applied.coupon
    return {
        "lago_id": str(applied.id),
        "lago_coupon_id": str(coupon.id),
        "coupon_code": coupon.code,
        "coupon_name": coupon.name,
        "coupon_status": coupon.status,
        "coupon_deleted_at": iso(coupon.deleted_at),
        "lago_customer_id": str(applied.customer_id),
        "external_customer_id": external_customer_id,
        "status": applied.status,
        "amount_cents": applied.amount_cents,
        "amount_cents_remaining": applied.amount_cents_remaining,
        "amount_currency": applied.amount_currency,
        "percentage_rate": decimal_string(applied.percentage_rate),
        "frequency": applied.frequency,
        "frequency_duration": applied.frequency_duration,
        "frequency_duration_remaining": applied.frequency_duration_remaining,
        "expiration_at": iso(coupon.expiration_at),
        "created_at": iso(applied.created_at),
        "terminated_at": iso(applied.terminated_at),
        # Credits appear once invoices exist.
        "credits": [],
    }


async def coupon_credits(
    session: AsyncSession, invoices: Sequence[Invoice]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Lago's invoice `credits` of coupon kind, per invoice id (one query per page)."""
    found: dict[uuid.UUID, list[dict[str, Any]]] = {invoice.id: [] for invoice in invoices}
    if not invoices:
        return found
    rows = await session.execute(
        select(CouponCredit, Coupon)
        .join(AppliedCoupon, AppliedCoupon.id == CouponCredit.applied_coupon_id)
        .join(Coupon, Coupon.id == AppliedCoupon.coupon_id)
        .where(CouponCredit.invoice_id.in_(list(found)))
        .order_by(CouponCredit.created_at, CouponCredit.id)
    )
    by_id = {invoice.id: invoice for invoice in invoices}
    for credit, coupon in rows:
        invoice = by_id[credit.invoice_id]
        found[invoice.id].append(
            {
                "lago_id": str(credit.id),
                "amount_cents": credit.amount_cents,
                "amount_currency": credit.amount_currency,
                "before_taxes": True,
                "item": {
                    "lago_item_id": str(coupon.id),
                    "type": "coupon",
                    "code": coupon.code,
                    "name": coupon.name,
                },
                "invoice": {"lago_id": str(invoice.id), "payment_status": invoice.payment_status},
            }
        )
    return found
