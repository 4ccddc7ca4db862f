"""/api/v1/applied_coupons and a customer's applied coupons (Lago-compatible).

- Applying: the coupon must be live and active (else 404 coupon_not_found) and not expired;
  a limited coupon may not overlap an active limited coupon of the customer (405
  plan_overlapping); a non-reusable coupon applies once per customer, ever. A fixed-amount
  coupon gives its currency to a customer that has none, and must match it otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.coupons import live_coupons
from bxb.api.customers import find_customer
from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.pagination import PageDep, PageParams, paginate
from bxb.api.schemas.coupons import AppliedCouponCreateBody, coupon_terms, coupon_values
from bxb.billing.coupons import CouponError, CouponType, apply_coupon
from bxb.lago_objects.coupons import applied_coupon_object
from bxb.models import AppliedCoupon, Charge, Coupon, CouponTarget, Customer
from bxb.models.base import utcnow

router = APIRouter(prefix="/api/v1", tags=["coupons"])


async def _overlaps(session: AsyncSession, customer: Customer, coupon: Coupon) -> bool:
    """A limited coupon may not cover what an active limited coupon already covers.

    Coverage reaches through charges: a plan covers the metrics it charges, a metric the
    plans that charge it (Lago's rule).
    """
    plan_ids = [t.plan_id for t in coupon.targets if t.plan_id]
    metric_ids = [t.billable_metric_id for t in coupon.targets if t.billable_metric_id]
    if not plan_ids and not metric_ids:
        return False
    live_charges = Charge.deleted_at.is_(None)
    charged_plans = select(Charge.plan_id).where(
        Charge.billable_metric_id.in_(metric_ids), live_charges
    )
    charged_metrics = select(Charge.billable_metric_id).where(
        Charge.plan_id.in_(plan_ids), live_charges
    )
    clash = await session.scalar(
        select(AppliedCoupon.id)
        .join(CouponTarget, CouponTarget.coupon_id == AppliedCoupon.coupon_id)
        .where(
            AppliedCoupon.customer_id == customer.id,
            AppliedCoupon.status == "active",
            or_(
                CouponTarget.plan_id.in_(plan_ids),
                CouponTarget.plan_id.in_(charged_plans),
                CouponTarget.billable_metric_id.in_(metric_ids),
                CouponTarget.billable_metric_id.in_(charged_metrics),
            ),
        )
        .limit(1)
    )
    return clash is not None


async def apply_coupon_code(
    session: AsyncSession,
    organization_id: uuid.UUID,
    customer: Customer,
    coupon_code: str,
    overrides: Callable[[str], dict[str, Any]] | None = None,
) -> AppliedCoupon:
    """Apply the organization's coupon `coupon_code` to a customer locked by the caller
    (the API's and the portal's one path); `overrides` gives the terms that replace the
    coupon's for its type. Flushed, not committed; raises Lago's errors."""
    coupon = await session.scalar(
        select(Coupon).where(
            live_coupons(organization_id), Coupon.code == coupon_code, Coupon.status == "active"
        )
    )
    if coupon is None:
        raise not_found("coupon")
    if await _overlaps(session, customer, coupon):
        raise ApiError(405, code="plan_overlapping")
    if not coupon.reusable:
        earlier = await session.scalar(
            select(AppliedCoupon.id).where(
                AppliedCoupon.customer_id == customer.id, AppliedCoupon.coupon_id == coupon.id
            )
        )
        if earlier is not None:
            raise validation_error({"coupon": ["coupon_is_not_reusable"]})
    now = utcnow()
    applied_id = uuid.uuid4()
    try:
        terms = apply_coupon(
            coupon_terms(coupon_values(coupon)),
            applied_coupon_id=str(applied_id),
            at=now,
            overrides=overrides(coupon.coupon_type) if overrides else None,
        )
    except CouponError as error:
        raise validation_error(error.errors) from None
    if terms.coupon_type is CouponType.FIXED_AMOUNT:
        if customer.currency is None:
            customer.currency = terms.amount_currency
        elif customer.currency != terms.amount_currency:
            raise validation_error({"currency": ["currencies_does_not_match"]})
    applied = AppliedCoupon(
        id=applied_id,
        organization_id=organization_id,
        coupon=coupon,
        customer_id=customer.id,
        status="active",
        amount_cents=terms.amount_cents,
        amount_cents_remaining=terms.amount_cents_remaining,
        amount_currency=terms.amount_currency,
        percentage_rate=terms.percentage_rate,
        frequency=terms.frequency.value,
        frequency_duration=terms.frequency_duration,
        frequency_duration_remaining=terms.frequency_duration_remaining,
        created_at=now,
    )
    session.add(applied)
    await session.flush()
    return applied


@router.post("/applied_coupons")
async def apply_coupon_to_customer(
    body: AppliedCouponCreateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    data = body.applied_coupon
    # Locking the customer serializes applications, so the reuse check holds.
    customer = await find_customer(session, org.id, data.external_customer_id, for_update=True)
    applied = await apply_coupon_code(session, org.id, customer, data.coupon_code, data.overrides)
    await session.commit()
    return {"applied_coupon": applied_coupon_object(applied, customer.external_id)}


async def _list_applied(
    session: AsyncSession, query: Select[AppliedCoupon], page: PageParams
) -> dict[str, Any]:
    query = query.order_by(AppliedCoupon.created_at.desc(), AppliedCoupon.id.desc())
    rows, meta = await paginate(session, query, page)
    customers = await session.execute(
        select(Customer.id, Customer.external_id).where(
            Customer.id.in_([row.customer_id for row in rows])
        )
    )
    external_ids = dict(customers.all())
    return {
        "applied_coupons": [
            applied_coupon_object(row, external_ids[row.customer_id]) for row in rows
        ],
        "meta": meta.model_dump(),
    }


def _applied_query(
    organization_id: uuid.UUID,
    status: str | None,
    coupon_codes: list[str] | None,
) -> Select[AppliedCoupon]:
    query = select(AppliedCoupon).where(AppliedCoupon.organization_id == organization_id)
    if status is not None:
        query = query.where(AppliedCoupon.status == status)
    if coupon_codes:
        query = query.where(
            AppliedCoupon.coupon_id.in_(
                select(Coupon.id).where(
                    Coupon.organization_id == organization_id, Coupon.code.in_(coupon_codes)
                )
            )
        )
    return query


StatusFilter = Literal["active", "terminated"] | None


CouponCodesFilter = Annotated[list[str] | None, Query(alias="coupon_code[]")]


@router.get("/applied_coupons")
async def list_applied_coupons(
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    external_customer_id: str | None = None,
    status: StatusFilter = None,
    coupon_codes: CouponCodesFilter = None,
) -> dict[str, Any]:
    query = _applied_query(org.id, status, coupon_codes)
    if external_customer_id is not None:
        query = query.where(
            AppliedCoupon.customer_id.in_(
                select(Customer.id).where(
                    Customer.organization_id == org.id,
                    Customer.external_id == external_customer_id,
                    Customer.deleted_at.is_(None),
                )
            )
        )
    return await _list_applied(session, query, page)


@router.get("/customers/{external_customer_id}/applied_coupons")
async def list_customer_applied_coupons(
    external_customer_id: str,
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    status: StatusFilter = None,
    coupon_codes: CouponCodesFilter = None,
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    query = _applied_query(org.id, status, coupon_codes)
    return await _list_applied(session, query.where(AppliedCoupon.customer_id == customer.id), page)


@router.delete("/customers/{external_customer_id}/applied_coupons/{applied_coupon_id}")
async def terminate_applied_coupon(
    external_customer_id: str, applied_coupon_id: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    try:
        wanted = uuid.UUID(applied_coupon_id)
    except ValueError:
        raise not_found("applied_coupon") from None
    applied = await session.scalar(
        select(AppliedCoupon).where(
            AppliedCoupon.id == wanted, AppliedCoupon.customer_id == customer.id
        )
    )
    if applied is None:
        raise not_found("applied_coupon")
    if applied.status == "active":  # terminating twice is harmless, as in Lago
        applied.status = "terminated"
        applied.terminated_at = utcnow()
        await session.commit()
    return {"applied_coupon": applied_coupon_object(applied, customer.external_id)}
