"""/api/v1/plans/{code}/fixed_charges (Lago-compatible): units of an add-on per period.

``cascade_updates`` carries a creation, change or deletion into the plan's children (the
copies made by subscriptions' ``plan_overrides``), as Lago does: a child whose fixed
charge was overridden (its model, properties or units differ from the parent's before
the change) keeps its own price. Running subscriptions bill from the plan snapshot they
pinned; see docs/decisions.md, "Plan overrides and fixed charges (issue 10)".
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import not_found, validation_error
from bxb.api.fixed_charge_taxes import fixed_charge_taxes
from bxb.api.fixed_charge_writes import add_on_for as _add_on
from bxb.api.fixed_charge_writes import copy_fixed_charge
from bxb.api.fixed_charge_writes import tax_ids as _tax_ids
from bxb.api.pagination import PageDep, paginate
from bxb.api.plan_charges import cascade_to_subscriptions
from bxb.api.plans import find_plan
from bxb.api.schemas.fixed_charges import (
    FixedChargeBody,
    FixedChargeDeleteBody,
    apply_fixed_charge_fields,
)
from bxb.core.plan_refresh import plan_family
from bxb.lago_objects.fixed_charges import fixed_charge_object
from bxb.models import FixedCharge, Organization, Plan
from bxb.models.base import utcnow

router = APIRouter(prefix="/api/v1", tags=["plans"])


async def render_fixed_charges(
    session: AsyncSession, org: Organization, charges: Sequence[FixedCharge]
) -> list[dict[str, Any]]:
    taxes = await fixed_charge_taxes(session, org, charges)
    return [fixed_charge_object(charge, taxes[charge.id]) for charge in charges]


def _live(plan: Plan) -> Any:
    return select(FixedCharge).where(
        FixedCharge.plan_id == plan.id,
        FixedCharge.deleted_at.is_(None),
        FixedCharge.parent_id.is_(None),
    )


async def _find(session: AsyncSession, plan: Plan, code: str) -> FixedCharge:
    fixed: FixedCharge | None = await session.scalar(_live(plan).where(FixedCharge.code == code))
    if fixed is None:
        raise not_found("fixed_charge")
    return fixed


async def _children(session: AsyncSession, parent: FixedCharge) -> list[FixedCharge]:
    return list(
        await session.scalars(
            select(FixedCharge).where(
                FixedCharge.parent_id == parent.id, FixedCharge.deleted_at.is_(None)
            )
        )
    )


async def _child_plans(session: AsyncSession, plan: Plan) -> list[Plan]:
    return list(
        await session.scalars(
            select(Plan).where(Plan.parent_id == plan.id, Plan.deleted_at.is_(None))
        )
    )


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError:  # pragma: no cover - a concurrent request took the code
        await session.rollback()
        raise validation_error({"code": ["value_already_exist"]}) from None


async def _respond(session: AsyncSession, org: Organization, fixed_id: uuid.UUID) -> dict[str, Any]:
    session.expunge_all()
    fixed = await session.get(FixedCharge, fixed_id)
    assert fixed is not None
    return {"fixed_charge": (await render_fixed_charges(session, org, [fixed]))[0]}


@router.get("/plans/{code}/fixed_charges")
async def list_fixed_charges(
    code: str, org: OrgDep, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    query = _live(plan).order_by(FixedCharge.created_at.desc(), FixedCharge.id)
    rows, meta = await paginate(session, query, page)
    return {
        "fixed_charges": await render_fixed_charges(session, org, rows),
        "meta": meta.model_dump(),
    }


@router.get("/plans/{code}/fixed_charges/{fixed_charge_code}")
async def get_fixed_charge(
    code: str, fixed_charge_code: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    fixed = await _find(session, plan, fixed_charge_code)
    return {"fixed_charge": (await render_fixed_charges(session, org, [fixed]))[0]}


@router.post("/plans/{code}/fixed_charges")
async def create_fixed_charge(
    code: str,
    body: FixedChargeBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    data = body.fixed_charge
    add_on = await _add_on(session, org, data)
    tax_ids = await _tax_ids(session, org, data.tax_codes or [])
    fixed = FixedCharge(
        id=uuid.uuid4(),
        organization_id=org.id,
        plan_id=plan.id,
        add_on_id=add_on.id,
        code=data.code or add_on.code,
        charge_model=None,
        pay_in_advance=False,
        prorated=False,
        units=0,
        properties={},
        tax_ids=tax_ids,
    )
    with session.no_autoflush:
        errors = apply_fixed_charge_fields(fixed, data)
        if await session.scalar(_live(plan).where(FixedCharge.code == fixed.code)) is not None:
            errors["code"] = ["value_already_exist"]
    if errors:
        raise validation_error(errors)
    session.add(fixed)
    await session.flush()
    family: list[uuid.UUID] = []
    if data.cascade_updates:
        for child_plan in await _child_plans(session, plan):
            session.add(copy_fixed_charge(fixed, child_plan))
        family = await plan_family(session, plan)
    await _commit(session)
    if family:
        await cascade_to_subscriptions(session, temporal, settings, org, family)
    return await _respond(session, org, fixed.id)


def _same_price(a: FixedCharge, model: str, properties: dict[str, Any], units: Any) -> bool:
    return a.charge_model == model and a.properties == properties and a.units == units


@router.put("/plans/{code}/fixed_charges/{fixed_charge_code}")
async def update_fixed_charge(
    code: str,
    fixed_charge_code: str,
    body: FixedChargeBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    fixed = await _find(session, plan, fixed_charge_code)
    data = body.fixed_charge
    old = (fixed.charge_model, copy.deepcopy(fixed.properties), fixed.units)
    if data.tax_codes is not None:
        fixed.tax_ids = await _tax_ids(session, org, data.tax_codes)
    if data.add_on_id is not None or data.add_on_code is not None:
        fixed.add_on_id = (await _add_on(session, org, data)).id
    with session.no_autoflush:
        errors = apply_fixed_charge_fields(fixed, data)
        if "code" in data.model_fields_set and data.code != fixed_charge_code:
            taken = await session.scalar(_live(plan).where(FixedCharge.code == data.code))
            if taken is not None:
                errors["code"] = ["value_already_exist"]
    if errors:
        raise validation_error(errors)
    if data.cascade_updates:
        for child in await _children(session, fixed):
            # Lago: only the price (model, properties, units) cascades, and only into
            # children that still had the parent's price.
            if _same_price(child, *old):
                child.charge_model = fixed.charge_model
                child.properties = copy.deepcopy(fixed.properties)
                child.units = fixed.units
    family = await plan_family(session, plan) if data.cascade_updates else []
    await _commit(session)
    if family:
        await cascade_to_subscriptions(session, temporal, settings, org, family)
    return await _respond(session, org, fixed.id)


@router.delete("/plans/{code}/fixed_charges/{fixed_charge_code}")
async def delete_fixed_charge(
    code: str,
    fixed_charge_code: str,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    body: FixedChargeDeleteBody | None = None,
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    fixed = await _find(session, plan, fixed_charge_code)
    rendered = (await render_fixed_charges(session, org, [fixed]))[0]
    now = utcnow()
    fixed.deleted_at = now
    family: list[uuid.UUID] = []
    if body is not None and body.fixed_charge.cascade_updates:
        for child in await _children(session, fixed):
            child.deleted_at = now
        family = await plan_family(session, plan)
    await session.commit()
    if family:
        await cascade_to_subscriptions(session, temporal, settings, org, family)
    return {"fixed_charge": rendered}
