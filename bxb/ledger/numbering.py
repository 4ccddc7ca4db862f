"""Gapless invoice numbers per organization (see InvoiceSequence)."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.core.metrics import INVOICES_FINALIZED, count_on_commit
from bxb.models import InvoiceSequence, Organization


async def next_sequential_id(session: AsyncSession, organization_id: uuid.UUID) -> int:
    """The organization's next invoice number; the row lock is held to the commit."""
    statement = (
        insert(InvoiceSequence)
        .values(organization_id=organization_id, last_sequential_id=1)
        .on_conflict_do_update(
            index_elements=["organization_id"],
            set_={"last_sequential_id": InvoiceSequence.last_sequential_id + 1},
        )
        .returning(InvoiceSequence.last_sequential_id)
    )
    number: int = (await session.execute(statement)).scalar_one()
    return number


async def assign_number(session: AsyncSession, organization: Organization) -> tuple[int, str]:
    """(sequential_id, number) for an invoice being finalized now."""
    sequential_id = await next_sequential_id(session, organization.id)
    count_on_commit(session, INVOICES_FINALIZED)
    return sequential_id, f"{organization.document_number_prefix}-{sequential_id:06d}"
