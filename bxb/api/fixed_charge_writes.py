"""Writing fixed charges: their add-on and taxes, copies into child plans, and the
``fixed_charges`` list of a plan request (Lago: items with an ``id`` update that fixed
charge, items without one create one, fixed charges left out are deleted)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.errors import details_from_validation, not_found, validation_error
from bxb.api.schemas.fixed_charges import FixedChargeFields, apply_fixed_charge_fields
from bxb.api.taxes import taxes_for_codes
from bxb.models import AddOn, FixedCharge, Organization, Plan
from bxb.models.base import utcnow


async def add_on_for(session: AsyncSession, org: Organization, data: FixedChargeFields) -> AddOn:
    query = select(AddOn).where(AddOn.organization_id == org.id, AddOn.deleted_at.is_(None))
    if data.add_on_id is not None:
        try:
            query = query.where(AddOn.id == uuid.UUID(data.add_on_id))
        except ValueError:
            raise not_found("add_on") from None
    elif data.add_on_code is not None:
        query = query.where(AddOn.code == data.add_on_code)
    else:
        raise validation_error({"add_on": ["value_is_mandatory"]})
    add_on: AddOn | None = await session.scalar(query)
    if add_on is None:
        raise not_found("add_on")
    return add_on


async def tax_ids(session: AsyncSession, org: Organization, codes: list[str]) -> list[str]:
    return [
        str(tax.id) for tax in await taxes_for_codes(session, org.id, list(dict.fromkeys(codes)))
    ]


def copy_fixed_charge(source: FixedCharge, plan: Plan) -> FixedCharge:
    """A child of `source` in (overridden) `plan`."""
    return FixedCharge(
        id=uuid.uuid4(),
        organization_id=source.organization_id,
        plan_id=plan.id,
        add_on_id=source.add_on_id,
        code=source.code,
        invoice_display_name=source.invoice_display_name,
        charge_model=source.charge_model,
        pay_in_advance=source.pay_in_advance,
        prorated=source.prorated,
        units=source.units,
        properties=copy.deepcopy(source.properties),
        tax_ids=list(source.tax_ids),
        parent_id=source.id,
    )


async def draft_plan_fixed_charges(
    session: AsyncSession,
    org: Organization,
    plan: Plan,
    payloads: list[dict[str, Any]],
    current: list[FixedCharge],
) -> tuple[list[FixedCharge], dict[str, list[str]]]:
    """The plan's fixed charges as the request wants them (not yet added), and the errors
    keyed by path (``fixed_charges.0.properties.amount``)."""
    existing = {str(f.id): f for f in current}
    wanted: list[FixedCharge] = []
    errors: dict[str, list[str]] = {}
    codes: set[str] = set()
    for index, payload in enumerate(payloads):
        prefix = f"fixed_charges.{index}"
        try:
            data = FixedChargeFields.model_validate(payload)
        except ValidationError as exc:
            found = details_from_validation(exc.errors())
            errors |= {f"{prefix}.{key}": codes_ for key, codes_ in found.items()}
            continue
        item_id = payload.get("id") if isinstance(payload, dict) else None
        fixed = existing.get(str(item_id)) if item_id else None
        if fixed is None:
            add_on = await add_on_for(session, org, data)
            fixed = FixedCharge(
                id=uuid.uuid4(),
                organization_id=org.id,
                plan_id=plan.id,
                add_on_id=add_on.id,
                code=data.code or add_on.code,
                pay_in_advance=False,
                prorated=False,
                units=0,
                properties={},
                tax_ids=[],
            )
            fixed.created_at = utcnow()
        if data.tax_codes is not None:
            fixed.tax_ids = await tax_ids(session, org, data.tax_codes)
        found = apply_fixed_charge_fields(fixed, data)
        errors |= {f"{prefix}.{key}": codes_ for key, codes_ in found.items()}
        if fixed.code in codes:
            errors.setdefault(f"{prefix}.code", []).append("value_already_exist")
        codes.add(fixed.code)
        wanted.append(fixed)
    return wanted, errors


def save_plan_fixed_charges(
    session: AsyncSession, current: list[FixedCharge], wanted: list[FixedCharge]
) -> None:
    """Add the new ones, soft-delete those left out (after the plan is flushed)."""
    kept = {f.id for f in wanted}
    now = utcnow()
    for old in current:
        if old.id not in kept:
            old.deleted_at = now
    for fixed in wanted:
        if fixed not in session:
            session.add(fixed)
