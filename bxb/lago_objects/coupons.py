"""Lago's CouponObject and AppliedCouponObject."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bxb.lago_objects.formats import decimal_string, iso
from bxb.models import AppliedCoupon, Coupon


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
