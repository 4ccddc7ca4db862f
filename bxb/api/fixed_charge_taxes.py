"""The taxes of fixed charges (kept on the row as tax ids: applied_taxes has no such target)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.models import FixedCharge, Organization, Tax


async def fixed_charge_taxes(
    session: AsyncSession, org: Organization, charges: Sequence[FixedCharge]
) -> dict[uuid.UUID, list[Tax]]:
    ids = {uuid.UUID(t) for charge in charges for t in charge.tax_ids}
    by_id: dict[uuid.UUID, Tax] = {}
    if ids:
        found = await session.scalars(
            select(Tax).where(Tax.organization_id == org.id, Tax.id.in_(ids))
        )
        by_id = {tax.id: tax for tax in found}
    return {
        charge.id: [by_id[uuid.UUID(t)] for t in charge.tax_ids if uuid.UUID(t) in by_id]
        for charge in charges
    }
