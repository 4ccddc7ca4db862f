"""/api/v1/coupons (Lago-compatible); applying them is in applied_coupons.

- Once a coupon has been applied to a customer, only its name, description and expiration
  can change (Lago's rule); other fields in an update are ignored.
- Deleting a coupon terminates it and its active applied coupons, and frees its code.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.deps import OrgDep, SessionDep, reads_only
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.coupons import (
    AppliesTo,
    CouponCreateBody,
    CouponUpdateBody,
    coupon_values,
    normalized_terms,
    terms_errors,
)
from bxb.lago_objects.coupons import coupon_object
from bxb.models import (
    AppliedCoupon,
    BillableMetric,
    Coupon,
    CouponTarget,
    Plan,
)
from bxb.models.base import utcnow

router = APIRouter(prefix="/api/v1", tags=["coupons"])

# What can still change once a coupon has been applied to a customer.
_ALWAYS_EDITABLE = {"name", "description", "expiration", "expiration_at"}


def live_coupons(organization_id: uuid.UUID) -> Any:
    """The condition that selects the organization's coupons that are not deleted."""
    return (Coupon.organization_id == organization_id) & Coupon.deleted_at.is_(None)


async def _find(session: AsyncSession, organization_id: uuid.UUID, code: str) -> Coupon:
    coupon = await session.scalar(
        select(Coupon).where(live_coupons(organization_id), Coupon.code == code)
    )
    if coupon is None:
        raise not_found("coupon")
    return coupon


async def _check_code_free(session: AsyncSession, organization_id: uuid.UUID, code: str) -> None:
    taken = await session.scalar(
        select(Coupon.id).where(live_coupons(organization_id), Coupon.code == code)
    )
    if taken is not None:
        raise validation_error({"code": ["value_already_exist"]})


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError:  # a concurrent request took the same code
        await session.rollback()
        raise validation_error({"code": ["value_already_exist"]}) from None


async def _target_codes(
    session: AsyncSession, coupon_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[list[str], list[str]]]:
    """Codes of the live plans and billable metrics each coupon is limited to."""
    codes: dict[uuid.UUID, tuple[list[str], list[str]]] = {cid: ([], []) for cid in coupon_ids}
    plans = await session.execute(
        select(CouponTarget.coupon_id, Plan.code)
        .join(Plan, Plan.id == CouponTarget.plan_id)
        .where(CouponTarget.coupon_id.in_(coupon_ids), Plan.deleted_at.is_(None))
        .order_by(Plan.code)
    )
    for coupon_id, code in plans:
        codes[coupon_id][0].append(code)
    metrics = await session.execute(
        select(CouponTarget.coupon_id, BillableMetric.code)
        .join(BillableMetric, BillableMetric.id == CouponTarget.billable_metric_id)
        .where(CouponTarget.coupon_id.in_(coupon_ids), BillableMetric.deleted_at.is_(None))
        .order_by(BillableMetric.code)
    )
    for coupon_id, code in metrics:
        codes[coupon_id][1].append(code)
    return codes


async def _respond(session: AsyncSession, coupon: Coupon) -> dict[str, Any]:
    plan_codes, metric_codes = (await _target_codes(session, [coupon.id]))[coupon.id]
    return {"coupon": coupon_object(coupon, plan_codes, metric_codes)}


async def _ids_for_codes(
    session: AsyncSession,
    model: type[Plan] | type[BillableMetric],
    organization_id: uuid.UUID,
    codes: Sequence[str],
) -> list[uuid.UUID] | None:
    """Ids of the live objects with these codes, or None when one of them is unknown."""
    wanted = set(codes)
    query = select(model.id).where(
        model.organization_id == organization_id,
        model.code.in_(wanted),
        model.deleted_at.is_(None),
    )
    if model is Plan:
        query = query.where(Plan.parent_id.is_(None))  # not a subscription's override
    ids = list((await session.scalars(query.order_by(model.code))).all())
    return ids if len(ids) == len(wanted) else None


async def _resolve_targets(
    session: AsyncSession,
    organization_id: uuid.UUID,
    applies_to: AppliesTo,
    current: tuple[list[uuid.UUID], list[uuid.UUID]],
) -> tuple[list[uuid.UUID], list[uuid.UUID], dict[str, list[str]]]:
    """Plan and metric ids a coupon is limited to; a list left out keeps `current`."""
    plan_ids, metric_ids = current
    errors: dict[str, list[str]] = {}
    if applies_to.plan_codes is not None:
        found = await _ids_for_codes(session, Plan, organization_id, applies_to.plan_codes)
        if found is None:
            errors["applies_to.plan_codes"] = ["plan_not_found"]
        plan_ids = found or []
    if applies_to.billable_metric_codes is not None:
        codes = applies_to.billable_metric_codes
        found = await _ids_for_codes(session, BillableMetric, organization_id, codes)
        if found is None:
            errors["applies_to.billable_metric_codes"] = ["billable_metric_not_found"]
        metric_ids = found or []
    if plan_ids and metric_ids:
        errors["applies_to"] = ["only_one_limitation_type_per_coupon_allowed"]
    return plan_ids, metric_ids, errors


def _targets(plan_ids: Sequence[uuid.UUID], metric_ids: Sequence[uuid.UUID]) -> list[CouponTarget]:
    return [CouponTarget(plan_id=pid) for pid in plan_ids] + [
        CouponTarget(billable_metric_id=mid) for mid in metric_ids
    ]


@router.post("/coupons")
async def create_coupon(body: CouponCreateBody, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    data = body.coupon
    await _check_code_free(session, org.id, data.code)
    values = data.model_dump(exclude={"applies_to"})
    errors = terms_errors(values, now=utcnow(), check_future=True)
    plan_ids, metric_ids, target_errors = await _resolve_targets(
        session, org.id, data.applies_to or AppliesTo(), ([], [])
    )
    if errors or target_errors:
        raise validation_error(errors | target_errors)
    coupon = Coupon(organization_id=org.id, **normalized_terms(values))
    coupon.targets = _targets(plan_ids, metric_ids)
    session.add(coupon)
    await _commit(session)
    return await _respond(session, coupon)


@router.get("/coupons")
@reads_only
async def list_coupons(org: OrgDep, session: SessionDep, page: PageDep) -> dict[str, Any]:
    query = (
        select(Coupon)
        .where(live_coupons(org.id))
        .order_by(Coupon.created_at.desc(), Coupon.id.desc())
    )
    coupons, meta = await paginate(session, query, page)
    codes = await _target_codes(session, [c.id for c in coupons])
    return {
        "coupons": [coupon_object(c, *codes[c.id]) for c in coupons],
        "meta": meta.model_dump(),
    }


@router.get("/coupons/{code}")
@reads_only
async def get_coupon(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    return await _respond(session, await _find(session, org.id, code))


@router.put("/coupons/{code}")
async def update_coupon(
    code: str, body: CouponUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    coupon = await _find(session, org.id, code)
    changes = body.coupon.model_dump(exclude_unset=True, exclude={"applies_to"})
    applies_to = body.coupon.applies_to
    applied = await session.scalar(
        select(AppliedCoupon.id).where(AppliedCoupon.coupon_id == coupon.id).limit(1)
    )
    if applied is not None:
        changes = {key: value for key, value in changes.items() if key in _ALWAYS_EDITABLE}
        applies_to = None
    if changes.get("code", coupon.code) != coupon.code:
        await _check_code_free(session, org.id, changes["code"])
    values = coupon_values(coupon) | changes
    errors = terms_errors(values, now=utcnow(), check_future="expiration_at" in changes)
    target_errors: dict[str, list[str]] = {}
    plan_ids: list[uuid.UUID] = []
    metric_ids: list[uuid.UUID] = []
    if applies_to is not None:
        current = (
            [t.plan_id for t in coupon.targets if t.plan_id],
            [t.billable_metric_id for t in coupon.targets if t.billable_metric_id],
        )
        plan_ids, metric_ids, target_errors = await _resolve_targets(
            session, org.id, applies_to, current
        )
    if errors or target_errors:
        raise validation_error(errors | target_errors)
    for key, value in normalized_terms(values).items():
        setattr(coupon, key, value)
    if applies_to is not None:
        coupon.targets = _targets(plan_ids, metric_ids)
    await _commit(session)
    return await _respond(session, coupon)


@router.delete("/coupons/{code}")
async def delete_coupon(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    coupon = await _find(session, org.id, code)
    now = utcnow()
    coupon.status = "terminated"
    coupon.terminated_at = coupon.deleted_at = now
    await session.execute(
        update(AppliedCoupon)
        .where(AppliedCoupon.coupon_id == coupon.id, AppliedCoupon.status == "active")
        .values(status="terminated", terminated_at=now)
    )
    await session.commit()
    return await _respond(session, coupon)
