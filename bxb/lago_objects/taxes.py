"""Lago's TaxObject, and the reads of which taxes an object shows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, select
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


async def taxes_by_code(
    session: AsyncSession, organization_id: uuid.UUID, codes: set[str]
) -> dict[str, Tax]:
    if not codes:
        return {}
    rows = await session.scalars(
        select(Tax).where(Tax.organization_id == organization_id, Tax.code.in_(codes))
    )
    return {tax.code: tax for tax in rows}
