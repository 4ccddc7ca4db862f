"""/api/v1/portal/coupons: redeeming a coupon code, and the coupons applied to the portal
customer. Redeeming goes through the API's one path for applying a coupon
(bxb.api.applied_coupons.apply_coupon_code), without overrides: the customer gets the
coupon's own terms. A code that is unknown, expired, terminated, already applied to this
customer (reusable or not) or clashing with an applied coupon is refused with 422."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from bxb.api.applied_coupons import apply_coupon_code
from bxb.api.errors import ApiError, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.portal import PortalCouponBody
from bxb.models import AppliedCoupon, Coupon, Customer
from bxb.portal.auth import PortalCustomerDep, PortalSessionDep
from bxb.portal.shapes import applied_coupon_object

router = APIRouter(prefix="/api/v1/portal", tags=["portal"])


def _refused(code: str) -> ApiError:
    return validation_error({"coupon_code": [code]})


@router.get("/coupons")
async def list_applied_coupons(
    portal: PortalCustomerDep, session: PortalSessionDep, page: PageDep
) -> dict[str, Any]:
    query = (
        select(AppliedCoupon)
        .where(
            AppliedCoupon.organization_id == portal.organization.id,
            AppliedCoupon.customer_id == portal.customer.id,
        )
        .order_by(AppliedCoupon.created_at.desc(), AppliedCoupon.id.desc())
    )
    rows, meta = await paginate(session, query, page)
    return {"applied_coupons": [applied_coupon_object(r) for r in rows], "meta": meta.model_dump()}


@router.post("/coupons")
async def redeem_coupon(
    body: PortalCouponBody, portal: PortalCustomerDep, session: PortalSessionDep
) -> dict[str, Any]:
    organization_id = portal.organization.id
    code = body.applied_coupon.coupon_code
    # Locking the customer serializes redemptions, so the "already applied" check holds.
    customer = await session.scalar(
        select(Customer)
        .where(Customer.id == portal.customer.id, Customer.organization_id == organization_id)
        .with_for_update(of=Customer)
    )
    assert customer is not None
    active = await session.scalar(
        select(AppliedCoupon.id)
        .join(Coupon, Coupon.id == AppliedCoupon.coupon_id)
        .where(
            AppliedCoupon.customer_id == customer.id,
            AppliedCoupon.status == "active",
            Coupon.organization_id == organization_id,
            Coupon.code == code,
        )
    )
    if active is not None:
        raise _refused("coupon_already_applied")
    try:
        applied = await apply_coupon_code(session, organization_id, customer, code)
    except ApiError as error:
        if error.status == 422 and error.error_details:
            codes = [c for value in error.error_details.values() for c in value]
            raise _refused(codes[0] if codes else "value_is_invalid") from None
        raise _refused(error.code or "value_is_invalid") from None
    await session.commit()
    return {"applied_coupon": applied_coupon_object(applied)}
