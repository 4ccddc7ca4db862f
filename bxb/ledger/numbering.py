"""Gapless invoice numbers per billing entity.

The default entity numbers with the organization's sequence (InvoiceSequence), as bxb did
before billing entities existed, so its numbers continue unchanged; any other entity with
its own (BillingEntitySequence). Either row lock is held to the commit: finalizations of
one entity are serialized, and a rolled-back invoice gives its number back. The number is
`<the entity's document_number_prefix>-<sequential id, six digits>`.
"""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.core.metrics import INVOICES_FINALIZED, count_on_commit
from bxb.models import BillingEntity, BillingEntitySequence, InvoiceSequence, Organization


async def next_sequential_id(session: AsyncSession, organization_id: uuid.UUID) -> int:
    """The organization's (its default entity's) next invoice number."""
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


async def _next_entity_sequential_id(session: AsyncSession, entity_id: uuid.UUID) -> int:
    statement = (
        insert(BillingEntitySequence)
        .values(billing_entity_id=entity_id, last_sequential_id=1)
        .on_conflict_do_update(
            index_elements=["billing_entity_id"],
            set_={"last_sequential_id": BillingEntitySequence.last_sequential_id + 1},
        )
        .returning(BillingEntitySequence.last_sequential_id)
    )
    number: int = (await session.execute(statement)).scalar_one()
    return number


async def assign_number(
    session: AsyncSession,
    organization: Organization,
    billing_entity_id: uuid.UUID | None = None,
) -> tuple[int, str]:
    """(sequential_id, number) for an invoice of this billing entity being finalized now.

    No entity (a row written before entities, or an organization without one) numbers as
    the default entity does.
    """
    entity = None
    if billing_entity_id is not None:
        entity = await session.get(BillingEntity, billing_entity_id)
    count_on_commit(session, INVOICES_FINALIZED)
    if entity is None or entity.is_default:
        sequential_id = await next_sequential_id(session, organization.id)
        prefix = entity.document_number_prefix if entity else organization.document_number_prefix
    else:
        sequential_id = await _next_entity_sequential_id(session, entity.id)
        prefix = entity.document_number_prefix
    return sequential_id, f"{prefix}-{sequential_id:06d}"
