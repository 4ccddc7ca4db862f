"""Lago's TaxObject, and the reads of which taxes an object shows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bxb.lago_objects.formats import iso
from bxb.models import AppliedTax, Tax


def tax_object(tax: Tax) -> dict[str, Any]:
    return {
        "lago_id": str(tax.id),
        "name": tax.name,
        "code": tax.code,
        "rate": float(tax.rate),
        "description": tax.description,
        "applied_to_organization": tax.applied_to_organization,
        "created_at": iso(tax.created_at),
    }


# The column of AppliedTax naming what a tax is applied to (customer_id, add_on_id, ...).
OwnerColumn = InstrumentedAttribute[uuid.UUID | None]

# Built once per owner column: building a statement and its cache key costs as much CPU
# as running it on a page's read path.
_APPLIED_TAXES: dict[str, Select[uuid.UUID | None, Tax]] = {}


async def applied_taxes(
    session: AsyncSession, owner: OwnerColumn, owner_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Tax]]:
    """Taxes applied to each owner (by code), in one query for a whole page."""
    found: dict[uuid.UUID, list[Tax]] = {owner_id: [] for owner_id in owner_ids}
    if not owner_ids:
        return found
    statement = _APPLIED_TAXES.get(owner.key)
    if statement is None:
        statement = _APPLIED_TAXES[owner.key] = (
            select(owner, Tax)
            .join(Tax, Tax.id == AppliedTax.tax_id)
            .where(owner.in_(bindparam("owner_ids", expanding=True)))
            .order_by(Tax.code)
        )
    rows = await session.execute(statement, {"owner_ids": list(owner_ids)})
    for owner_id, tax in rows:
        assert owner_id is not None
        found[owner_id].append(tax)
    return found


async def plan_and_charge_taxes(
    session: AsyncSession, plan_ids: Sequence[uuid.UUID], charge_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Tax]]:
    """Taxes applied to each plan and to each charge (by code), in one query for a page of
    plans: what `applied_taxes` would read in two."""
    found: dict[uuid.UUID, list[Tax]] = {owner_id: [] for owner_id in (*plan_ids, *charge_ids)}
    if not found:
        return found
    plans, charges = set(plan_ids), set(charge_ids)
    rows = await session.execute(
        select(AppliedTax.plan_id, AppliedTax.charge_id, Tax)
        .join(Tax, Tax.id == AppliedTax.tax_id)
        .where(or_(AppliedTax.plan_id.in_(plans), AppliedTax.charge_id.in_(charges)))
        .order_by(Tax.code)
    )
    for plan_id, charge_id, tax in rows:
        if plan_id in plans:
            found[plan_id].append(tax)
        if charge_id in charges:
            found[charge_id].append(tax)
    return found


async def taxes_by_code(
    session: AsyncSession, organization_id: uuid.UUID, codes: set[str]
) -> dict[str, Tax]:
    if not codes:
        return {}
    rows = await session.scalars(
        select(Tax).where(Tax.organization_id == organization_id, Tax.code.in_(codes))
    )
    return {tax.code: tax for tax in rows}
